// Command trainintent trains the built-in recognizer's intent classifier
// and slot classifiers on the labelled question sets
// (assistant.IntentTrainingSets, never the blind sets) and writes their
// weights; go generate runs it in internal/assistant. Training is
// deterministic.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

func main() {
	out := flag.String("o", "intent_model.tsv", "output file for the intent classifier")
	slots := flag.String("slots", "", "output file for the slot classifiers (empty: not trained)")
	dir := flag.String("dir", ".", "the internal/assistant directory (holding testdata/)")
	flag.Parse()
	m, err := assistant.TrainIntentModel(*dir)
	if err != nil {
		fail(err)
	}
	write(*out, m)
	if *slots != "" {
		sm, err := assistant.TrainSlotModels(*dir)
		if err != nil {
			fail(err)
		}
		write(*slots, sm)
	}
}

func write(path string, m io.WriterTo) {
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	if _, err := m.WriteTo(f); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trainintent:", err)
	os.Exit(1)
}
