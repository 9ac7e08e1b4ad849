import { applyDecorators, UseFilters, UsePipes, ValidationPipe } from '@nestjs/common';
import { validationFailed } from '../../validation/validate-payload';
import { PipelineHttpErrorFilter } from './http-error.filter';

/**
 * Every route of the pipeline validates its DTOs and answers errors with the contract's bodies on
 * its own, so the app needs no global pipe or filter (and the app's own, if any, still apply to
 * the app's routes only).
 */
export function PipelineHttpRoutes(): ClassDecorator {
  return applyDecorators(
    UseFilters(PipelineHttpErrorFilter),
    UsePipes(
      new ValidationPipe({
        whitelist: true,
        transform: true,
        forbidUnknownValues: true,
        exceptionFactory: (errors) => validationFailed(errors, 'request'),
      }),
    ),
  );
}
