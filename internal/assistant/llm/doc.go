// Package llm is the assistant's LLM engine: an assistant.Engine that asks
// a chat model on Ollama (through its own Go client,
// github.com/ollama/ollama/api, and its native /api/chat) or on any
// OpenAI-compatible chat-completions server (vLLM, llama.cpp server, LM
// Studio, hosted APIs, Ollama's /v1; through github.com/openai/openai-go/v3),
// with the analysis exposed as tools: get_report_section, lookup (a
// registry measure at a tree and zone) and explain (a term).
//
// Flow: the Conversation's turns → messages after a fixed system prompt
// and the findings as context (the built-in overview, marked as data; with
// Config.Image the photo goes with the first question) → the model calls tools, at most MaxToolRounds rounds, its
// text streamed to the caller (RespondStream) → the grounding check: every
// number in the text must match a value the tools returned in that turn, a
// value grounded in an earlier turn, a number in the question or a
// registry reference number; the rest are Answer.Ungrounded.
//
// Tests: llm_test.go against a scripted fake server; ollama_test.go against
// a real `ollama serve` and a tiny scripted GGUF (packages ollamatest and
// tinygguf), skipped without an ollama binary.
//
// It imports assistant and must not import analysis, the model stages, cmd
// or the server.
package llm
