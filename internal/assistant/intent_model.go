package assistant

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
)

// The built-in recognizer's learned part: a multinomial logistic
// regression over the recognizer's own reading of a question, trained on
// the labelled question sets and blended with the rules (intent.Blend: it
// decides where the rules fall back, and overrides them only when very
// sure). Slots come from the rules, with the learned slot fallback of
// slot_model.go where they miss. See docs/assistant.md.
//
// The weights are generated, not trained at start-up (extracting the
// features of ~960 questions alone takes tens of milliseconds): after a
// change to a question set, the features or the options, run
//
//	go generate ./internal/assistant
//
// which also writes slot_model.tsv (the slot classifiers, slot_model.go).
// TestIntentModelUpToDate fails when intent_model.tsv is stale,
// TestSlotModelUpToDate when slot_model.tsv is.

//go:generate go run ./internal/trainintent -o intent_model.tsv -slots slot_model.tsv

//go:embed intent_model.tsv
var intentModelText string

var intentModel = sync.OnceValue(func() *intent.Model {
	m, err := intent.ReadModel(strings.NewReader(intentModelText))
	if err != nil {
		panic(fmt.Sprintf("assistant: embedded intent_model.tsv: %v", err))
	}
	return m
})

// IntentTrainingSets are the labelled question sets (test data, in
// testdata/, relative to this package) the shipped intent classifier is
// trained on. They are read by the generator and the tests, not embedded.
// The blind sets, questions_blind5.tsv and questions_blind6.tsv, are
// never among them. questions_train2.tsv, questions_train3.tsv and
// questions_train4.tsv were written for this classifier by writers who
// never saw the code, and the rules were not tuned on them.
var IntentTrainingSets = []string{
	"testdata/questions.tsv",
	"testdata/questions_holdout.tsv",
	"testdata/questions_blind.tsv",
	"testdata/questions_blind2.tsv",
	"testdata/questions_blind3.tsv",
	"testdata/questions_blind4.tsv",
	"testdata/questions_train2.tsv",
	"testdata/questions_train3.tsv",
	"testdata/questions_train4.tsv",
}

// LoadIntentExamples reads IntentTrainingSets from the package directory
// dir, in order.
func LoadIntentExamples(dir string) ([]intent.Example, error) {
	var out []intent.Example
	for _, f := range IntentTrainingSets {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		exs, err := intent.ReadExamples(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		out = append(out, exs...)
	}
	return out, nil
}

// TrainIntentModel trains the classifier as the generator does: the
// default registry's vocabulary, the default options, all training sets.
func TrainIntentModel(dir string) (*intent.Model, error) {
	exs, err := LoadIntentExamples(dir)
	if err != nil {
		return nil, err
	}
	return intent.New(DefaultRegistry().Vocabulary()).Train(exs, intent.DefaultTrainOptions), nil
}
