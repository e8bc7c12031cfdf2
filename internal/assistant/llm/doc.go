// Package llm is the assistant's LLM engine: an assistant.Engine that asks
// a chat model on any OpenAI-compatible chat-completions server (vLLM,
// llama.cpp server, LM Studio, hosted APIs) or on Ollama (through the same
// endpoint, Ollama's /v1/chat/completions), with the analysis exposed as
// tools: get_report_section, lookup (a registry measure at a tree and
// zone) and explain (a term).
//
// Flow: the Conversation's turns → messages after a fixed system prompt
// (no Report text in it) → the model calls tools, at most MaxToolRounds
// rounds → its text → the grounding check: every number in the text must
// match a value the tools returned in that turn, a value grounded in an
// earlier turn, a number in the question or a registry reference number;
// the rest are Answer.Ungrounded.
//
// Standard library only (net/http, encoding/json). It imports assistant
// and must not import analysis, the model stages, cmd or the server.
package llm
