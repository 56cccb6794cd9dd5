DROP TABLE donation_prompt_events;
DROP TABLE donation_prompt_translations;
DROP TABLE donation_prompt_tags;
DROP TABLE donation_prompts;
