// Command trainintent trains the built-in recognizer's intent classifier
// on the labelled question sets (assistant.IntentTrainingSets, never the
// blind set) and writes its weights; go generate runs it in
// internal/assistant. Training is deterministic.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

func main() {
	out := flag.String("o", "intent_model.tsv", "output file")
	dir := flag.String("dir", ".", "the internal/assistant directory (holding testdata/)")
	flag.Parse()
	m, err := assistant.TrainIntentModel(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trainintent:", err)
		os.Exit(1)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trainintent:", err)
		os.Exit(1)
	}
	if _, err := m.WriteTo(f); err != nil {
		fmt.Fprintln(os.Stderr, "trainintent:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "trainintent:", err)
		os.Exit(1)
	}
}
