// Command tinygguf writes a tiny scripted llama GGUF (see package tinygguf):
//
//	go run ./internal/assistant/llm/tinygguf/cmd OUT.gguf '<|reply|>=Hello there!' ['<|other|>=Another reply.' ...]
//
// Each argument after the file is MARKER=REPLY: a prompt ending in MARKER
// (put there by the Modelfile's TEMPLATE) makes the model answer REPLY.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant/llm/tinygguf"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: tinygguf OUT.gguf MARKER=REPLY...")
		os.Exit(2)
	}
	var chains []tinygguf.Chain
	for _, a := range os.Args[2:] {
		m, r, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "tinygguf: %q is not MARKER=REPLY\n", a)
			os.Exit(2)
		}
		chains = append(chains, tinygguf.Chain{Marker: m, Reply: r})
	}
	if err := tinygguf.WriteFile(os.Args[1], chains); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
