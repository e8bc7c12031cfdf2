package assistant

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
)

// The built-in recognizer's learned slot fallback: per slot kind
// (intent.SlotKinds), a classifier like the intent classifier (same
// features and trainer), trained on the same labelled sets
// (IntentTrainingSets, slot column), used only where the final intent's
// answer needs that slot and the rules left it empty
// (intent.DefaultSlotBlend). A slot only selects which report field is
// answered. See docs/assistant.md, "The learned part".
//
// Generated with intent_model.tsv by the same go generate (see
// intent_model.go); TestSlotModelUpToDate fails when slot_model.tsv is
// stale.

//go:embed slot_model.tsv
var slotModelText string

var slotModels = sync.OnceValue(func() *intent.SlotModels {
	sm, err := intent.ReadSlotModels(strings.NewReader(slotModelText))
	if err != nil {
		panic(fmt.Sprintf("assistant: embedded slot_model.tsv: %v", err))
	}
	return sm
})

// TrainSlotModels trains the slot classifiers as the generator does: the
// default registry's vocabulary, the default options, all training sets.
func TrainSlotModels(dir string) (*intent.SlotModels, error) {
	exs, err := LoadIntentExamples(dir)
	if err != nil {
		return nil, err
	}
	return intent.New(DefaultRegistry().Vocabulary()).TrainSlots(exs, intent.SlotKinds, intent.DefaultSlotTrainOptions), nil
}
