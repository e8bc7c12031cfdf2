package assistant

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
)

// slotLOSOSets are the held-out sets of the slot classifiers'
// leave-one-set-out: the three sets the rules were never tuned on.
var slotLOSOSets = []string{"train2", "train3", "train4"}

// slotRow is one held-out set's slot figures: labelled slots, those the
// rules (with the intent blend) get right, and per slot blend those right,
// the rules' right ones lost, and slots filled where none is labelled.
type slotRow struct {
	name         string
	n, rules     int
	ok, lost     []int
	spurious     []int
	fills        []int
	intentOK, nq int
	changes      []string // the first blend's changes to the slots
}

func slotString(s intent.Slots, k string) string {
	if p := s.Field(k); p != nil {
		return *p
	}
	return ""
}

// slotLeaveOneSetOut trains the intent classifier and the slot
// classifiers on all sets but one of held (named) and scores the slots on
// the one left out: the rules with the intent blend, then each slot blend.
func slotLeaveOneSetOut(rec *intent.Recognizer, sets []looSet, held []string, o intent.TrainOptions, blends []intent.SlotBlend) []slotRow {
	var rows []slotRow
	for i, h := range sets {
		if !containsStr(held, h.name) {
			continue
		}
		var train []intent.Example
		for j, s := range sets {
			if j != i {
				train = append(train, s.exs...)
			}
		}
		m := rec.Train(train, intent.DefaultTrainOptions)
		sm := rec.TrainSlots(train, intent.SlotKinds, o)
		row := slotRow{name: h.name, nq: len(h.exs)}
		for _, x := range []*[]int{&row.ok, &row.lost, &row.spurious, &row.fills} {
			*x = make([]int, len(blends))
		}
		for _, e := range h.exs {
			res := rec.Combine(rec.Rules(e.Text), m, intent.DefaultBlend)
			if res.Intent == e.Intent {
				row.intentOK++
			}
			for k, v := range e.Slots {
				row.n++
				if slotString(res.Slots, k) == v {
					row.rules++
				}
			}
			for b, bl := range blends {
				got := rec.CombineSlots(res, sm, bl)
				row.fills[b] += len(got.SlotSource)
				if b == 0 {
					for _, k := range got.SlotSource {
						verdict := "right"
						switch e.Slots[k] {
						case "":
							verdict = "none labelled"
						case slotString(got.Slots, k):
						default:
							verdict = "wrong, labelled " + e.Slots[k]
						}
						row.changes = append(row.changes, fmt.Sprintf("%s: %q (%s): %s %q → %q: %s", h.name, e.Text, got.Intent, k, slotString(res.Slots, k), slotString(got.Slots, k), verdict))
					}
				}
				for _, k := range got.SlotSource {
					if e.Slots[k] == "" {
						row.spurious[b]++
					}
				}
				for k, v := range e.Slots {
					if slotString(got.Slots, k) == v {
						row.ok[b]++
					} else if slotString(res.Slots, k) == v {
						row.lost[b]++
					}
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestSlotLOSO is the protocol behind the slot classifiers' options and
// blend: leave-one-set-out over questions_train2-4.tsv (the sets the rules
// were never tuned on; train on the other eight sets, intent classifier
// included, score the held-out one). It logs the table recorded in
// docs/assistant.md and fails if the fallback loses slot accuracy on any
// held-out set.
func TestSlotLOSO(t *testing.T) {
	if testing.Short() {
		t.Skip("trains six classifiers")
	}
	start := time.Now()
	rec := NewBuiltin(nil).rec
	rows := slotLeaveOneSetOut(rec, loadTrainingSets(t), slotLOSOSets, intent.DefaultSlotTrainOptions, []intent.SlotBlend{intent.DefaultSlotBlend})
	t.Logf("slot leave-one-set-out, %s, fill≥%g override≥%g (%v)", intent.DefaultSlotTrainOptions, intent.DefaultSlotBlend.Fill, intent.DefaultSlotBlend.Override, time.Since(start).Round(time.Millisecond))
	t.Logf("| held-out set | labelled slots | rules | rules + slot fallback | fixed | lost | filled, none labelled |")
	var n, r, ok, lost, sp int
	for _, row := range rows {
		t.Logf("| %s | %d | %s | %s | %d | %d | %d of %d |", row.name, row.n, pct(row.rules, row.n), pct(row.ok[0], row.n), row.ok[0]-row.rules+row.lost[0], row.lost[0], row.spurious[0], row.fills[0])
		n, r, ok, lost, sp = n+row.n, r+row.rules, ok+row.ok[0], lost+row.lost[0], sp+row.spurious[0]
		if row.ok[0] < row.rules {
			t.Errorf("%s: the slot fallback scores %d/%d, the rules alone %d", row.name, row.ok[0], row.n, row.rules)
		}
	}
	t.Logf("| all | %d | %s | %s | %d | %d | %d |", n, pct(r, n), pct(ok, n), ok-r+lost, lost, sp)
	for _, row := range rows {
		for _, c := range row.changes {
			t.Log("  " + c)
		}
	}
}

// TestSlotSweep searches options and blends (RETINALGPT_SLOT_SWEEP=1, or
// option variants separated by ';'), judged by the leave-one-set-out above.
func TestSlotSweep(t *testing.T) {
	env := os.Getenv("RETINALGPT_SLOT_SWEEP")
	if env == "" {
		t.Skip("set RETINALGPT_SLOT_SWEEP=1")
	}
	rec := NewBuiltin(nil).rec
	sets := loadTrainingSets(t)
	var blends []intent.SlotBlend
	for _, f := range []float64{0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 2} {
		for _, o := range []float64{0.8, 0.9, 0.95, 0.98, 2} {
			blends = append(blends, intent.SlotBlend{Fill: f, Override: o})
		}
	}
	for _, spec := range strings.Split(env, ";") {
		o := intent.DefaultSlotTrainOptions
		if spec != "1" && spec != "" {
			var err error
			if o, err = o.With(spec); err != nil {
				t.Fatal(err)
			}
		}
		rows := slotLeaveOneSetOut(rec, sets, slotLOSOSets, o, blends)
		for b, bl := range blends {
			var n, r, ok, lost, sp int
			line := ""
			for _, row := range rows {
				n, r, ok, lost, sp = n+row.n, r+row.rules, ok+row.ok[b], lost+row.lost[b], sp+row.spurious[b]
				line += fmt.Sprintf(" %s %s→%s", row.name, pct(row.rules, row.n), pct(row.ok[b], row.n))
			}
			t.Logf("%-30q fill %.2f over %.2f | all %s→%s lost %d spurious %d |%s", spec, bl.Fill, bl.Override, pct(r, n), pct(ok, n), lost, sp, line)
		}
	}
}

// The embedded slot classifiers are those the generator makes from the
// current question sets, features and options (run go generate
// ./internal/assistant after changing any of them).
func TestSlotModelUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the slot classifiers")
	}
	exs, err := LoadIntentExamples(".")
	if err != nil {
		t.Fatal(err)
	}
	shipped := slotModels()
	fresh, err := TrainSlotModels(".")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shipped.Kinds, fresh.Kinds) {
		t.Fatalf("slot_model.tsv has slot kinds %v, training gives %v: run go generate ./internal/assistant", shipped.Kinds, fresh.Kinds)
	}
	for _, kind := range fresh.Kinds {
		s, f := shipped.Models[kind], fresh.Models[kind]
		if s.Data != intent.SlotDataHash(exs) {
			t.Fatalf("slot_model.tsv (%s) was trained on other questions (data %s, now %s): run go generate ./internal/assistant", kind, s.Data, intent.SlotDataHash(exs))
		}
		if s.Options != intent.DefaultSlotTrainOptions {
			t.Fatalf("slot_model.tsv (%s) was trained with %s, the default is now %s: run go generate ./internal/assistant", kind, s.Options, intent.DefaultSlotTrainOptions)
		}
		if !slices.Equal(s.Classes, f.Classes) {
			t.Fatalf("slot_model.tsv (%s) has classes %v, training gives %v: run go generate ./internal/assistant", kind, s.Classes, f.Classes)
		}
		checkSameWeights(t, "slot_model.tsv ("+kind+")", s, f)
	}
}

// Reading the embedded slot classifiers (once per process, on the first
// NewBuiltin).
func BenchmarkSlotModelLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := intent.ReadSlotModels(strings.NewReader(slotModelText)); err != nil {
			b.Fatal(err)
		}
	}
}
