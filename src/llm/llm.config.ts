import type { Provider } from '@nestjs/common';
import { AppConfig, type LlmSettings } from '../config/app.config';

export type { LlmSettings } from '../config/app.config';

/** Injection token of the {@link LlmSettings} (`LLM_*` variables). */
export const LLM_SETTINGS = Symbol('LLM_SETTINGS');

/** Provides {@link LLM_SETTINGS} from the validated environment. */
export const llmSettingsProvider: Provider = {
  provide: LLM_SETTINGS,
  inject: [AppConfig],
  useFactory: (config: AppConfig): LlmSettings => {
    if (!config.llm) {
      throw new Error('LlmModule was imported but LLM_BASE_URL is not set: set it (see docs/llm-agent.md) or do not import LlmModule.');
    }
    return config.llm;
  },
};
