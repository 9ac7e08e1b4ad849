import { Inject } from '@nestjs/common';
import { REQUEST } from '@nestjs/core';

/**
 * Injects the run's {@link UserExecutionContext} into a request-scoped provider
 * (an agent or one of its dependencies). The provider becomes request-scoped: one instance per run.
 */
export const InjectExecutionContext = (): PropertyDecorator & ParameterDecorator => Inject(REQUEST);
