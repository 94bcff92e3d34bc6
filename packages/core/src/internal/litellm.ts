/**
 * LiteLLM's bookkeeping keys: request keys LiteLLM's `embedding()` strips before the provider
 * ever sees them (its OpenAI-client options, `all_litellm_params`, callback and custom-pricing
 * keys). Code written for LiteLLM passes them freely, so they are dropped here, not refused as
 * unknown model parameters. The list follows LiteLLM's `main.embedding` and `types/utils.py`
 * (see `research/recorded-bedrock/litellm-kwargs.md`); the keys LiteLLM acts on that bedrock-embed
 * honours (`timeout`, `num_retries`, `api_base`, `extra_headers`, the cost overrides…) are request
 * fields, not in this list.
 *
 * @internal
 */

const openAiClientKeys = [
  "api_version",
  "api_type",
  "deployment_id",
  "organization",
  "base_url",
  "default_headers",
  "shared_session"
]

const litellmParams = [
  "metadata",
  "guardrails",
  "tags",
  "acompletion",
  "aembedding",
  "aimg_generation",
  "atext_completion",
  "text_completion",
  "caching",
  "mock_response",
  "mock_timeout",
  "disable_add_transform_inline_image_block",
  "prompt_id",
  "prompt_variables",
  "prompt_version",
  "prompt_label",
  "provider_specific_header",
  "force_timeout",
  "logger_fn",
  "verbose",
  "custom_llm_provider",
  "model_file_id_mapping",
  "use_client",
  "id",
  "fallbacks",
  "routing_strategy",
  "azure",
  "model_list",
  "context_window_fallback_dict",
  "retry_policy",
  "retry_strategy",
  "roles",
  "final_prompt_value",
  "bos_token",
  "eos_token",
  "complete_response",
  "self",
  "client",
  "rpm",
  "tpm",
  "itpm",
  "otpm",
  "max_parallel_requests",
  "hf_model_name",
  "model_info",
  "proxy_server_request",
  "secret_fields",
  "preset_cache_key",
  "caching_groups",
  "ttl",
  "cache",
  "no-log",
  "base_model",
  "stream_timeout",
  "supports_system_message",
  "region_name",
  "allowed_model_region",
  "model_config",
  "fastest_response",
  "cooldown_time",
  "cache_key",
  "tenant_id",
  "client_id",
  "client_secret",
  "user_continue_message",
  "assistant_continue_message",
  "configurable_clientside_auth_params",
  "weight",
  "ensure_alternating_roles",
  "fallback_depth",
  "max_fallbacks",
  "max_budget",
  "budget_duration",
  "use_in_pass_through",
  "merge_reasoning_content_in_choices",
  "allowed_openai_params",
  "use_chat_completions_api",
  "search_tool_name",
  "order",
  "enable_tag_filtering",
  "enable_json_schema_validation",
  "use_xai_oauth",
  "max_agentic_loops",
  // Chat-only; LiteLLM strips it before embedding transforms (its issue #30314).
  "cache_control_injection_points",
  "output_vector_size",
  "tiered_pricing"
]

// StandardCallbackDynamicParams: per-request logging credentials.
const callbackParams = [
  "langfuse_public_key",
  "langfuse_secret",
  "langfuse_secret_key",
  "langfuse_host",
  "langfuse_prompt_version",
  "gcs_bucket_name",
  "gcs_path_service_account",
  "langsmith_api_key",
  "langsmith_project",
  "langsmith_base_url",
  "langsmith_sampling_rate",
  "langsmith_tenant_id",
  "humanloop_api_key",
  "arize_api_key",
  "arize_space_key",
  "arize_space_id",
  "posthog_api_key",
  "posthog_api_url",
  "wandb_api_key",
  "weave_project_id",
  "dd_api_key",
  "dd_site",
  "dd_agent_host",
  "dd_agent_port",
  "turn_off_message_logging"
]

const keys = new Set([...openAiClientKeys, ...litellmParams, ...callbackParams])

// Families of keys: LiteLLM internals, router configs, Azure auth, and pricing fields beyond the
// ones bedrock-embed honours.
const patterns = [
  /^litellm_/,
  /^_litellm_/,
  /^_agentic_loop_/,
  /^_code_interpreter_interception_/,
  /^(auto|complexity|adaptive|quality)_router_/,
  /^azure_/,
  /^(input|output)_cost_per_/,
  /^cache_.*cost/,
  /^(search_context|citation|ocr|annotation)_cost/,
  /^regional_processing_uplift_/
]

/**
 * Whether LiteLLM strips a request key before calling the provider.
 *
 * @internal
 */
export const isBookkeeping = (key: string): boolean => keys.has(key) || patterns.some((pattern) => pattern.test(key))
