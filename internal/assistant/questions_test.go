package assistant

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
)

type labelled struct {
	line     int
	intent   intent.Intent
	slots    map[string]string
	question string
}

func readQuestions(t *testing.T, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated columns, got %d", path, n, len(cols))
		}
		in := intent.Intent(cols[0])
		if !knownIntent(in) {
			t.Fatalf("%s:%d: unknown intent %q", path, n, in)
		}
		slots := map[string]string{}
		if cols[1] != "-" {
			for _, kv := range strings.Split(cols[1], ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s:%d: bad slot %q", path, n, kv)
				}
				slots[k] = v
			}
		}
		out = append(out, labelled{n, in, slots, cols[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func knownIntent(in intent.Intent) bool {
	for _, x := range intent.All {
		if x == in {
			return true
		}
	}
	return false
}

func slotValue(s intent.Slots, k string) string {
	if p := s.Field(k); p != nil {
		return *p
	}
	return "?" + k
}

// score runs the recognizer over a question set and returns the intent
// accuracy, the slot accuracy (over labelled slots) and a report of misses.
func score(b *Builtin, qs []labelled) (intentAcc, slotAcc float64, misses []string, confusion map[string]int) {
	okIntent, slotsTotal, okSlots := 0, 0, 0
	confusion = map[string]int{}
	for _, q := range qs {
		r := b.Recognize(q.question)
		if r.Intent == q.intent {
			okIntent++
		} else {
			confusion[string(q.intent)+" → "+string(r.Intent)]++
			misses = append(misses, fmt.Sprintf("line %d: %q: want %s, got %s %+v (tokens %v, concepts %v)", q.line, q.question, q.intent, r.Intent, r.Slots, r.Tokens, r.Concepts))
		}
		for k, v := range q.slots {
			slotsTotal++
			if got := slotValue(r.Slots, k); got == v {
				okSlots++
			} else {
				misses = append(misses, fmt.Sprintf("line %d: %q: slot %s want %q, got %q", q.line, q.question, k, v, got))
			}
		}
	}
	return float64(okIntent) / float64(len(qs)), float64(okSlots) / float64(max(slotsTotal, 1)), misses, confusion
}

func logConfusion(t *testing.T, confusion map[string]int) {
	var keys []string
	for k := range confusion {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  confusion %-28s %d", k, confusion[k])
	}
}

// The labelled question sets, each with its floors:
//   - questions.tsv, the tuned set: intent ≥ 95%, slots ≥ 90%, ≥ 300 questions;
//   - questions_holdout.tsv and questions_blind.tsv to questions_blind4.tsv,
//     earlier held-out and blind sets: each was written before a round of
//     tuning, measured once, and its misses were then used for the next
//     round, so each is now held to the tuned set's floors (blind4, the
//     first written by someone who had not seen the code, measured 81.7%
//     intent and 86.7% slots before the fifth round; see
//     docs/assistant.md).
func TestQuestionSets(t *testing.T) {
	for _, set := range []struct {
		name, file    string
		minQuestions  int
		intent, slots float64 // floors; slots 0: not checked
	}{
		{"tuned set", "testdata/questions.tsv", 300, 0.95, 0.90},
		{"former held-out set (now tuned)", "testdata/questions_holdout.tsv", 0, 0.95, 0.90},
		{"first blind set (now tuned)", "testdata/questions_blind.tsv", 100, 0.95, 0.90},
		{"second blind set (now tuned)", "testdata/questions_blind2.tsv", 70, 0.95, 0.90},
		{"third blind set (now tuned)", "testdata/questions_blind3.tsv", 60, 0.95, 0.90},
		{"fourth blind set (now tuned)", "testdata/questions_blind4.tsv", 150, 0.95, 0.90},
		{"blind set", "testdata/questions_blind5.tsv", 150, blindFloor, blindSlotFloor},
		{"seventh blind set", "testdata/questions_blind6.tsv", 200, blind6Floor, blindSlotFloor},
	} {
		t.Run(set.name, func(t *testing.T) {
			qs := readQuestions(t, set.file)
			if len(qs) < set.minQuestions {
				t.Fatalf("%s has %d questions, want at least %d", set.file, len(qs), set.minQuestions)
			}
			ia, sa, misses, conf := score(NewBuiltin(nil), qs)
			t.Logf("%s: %d questions, intent accuracy %.1f%%, slot accuracy %.1f%%", set.name, len(qs), 100*ia, 100*sa)
			for _, m := range misses {
				t.Log("  miss " + m)
			}
			logConfusion(t, conf)
			if ia < set.intent {
				t.Errorf("intent accuracy %.1f%% below the %.0f%% floor", 100*ia, 100*set.intent)
			}
			if sa < set.slots {
				t.Errorf("slot accuracy %.1f%% below the %.0f%% floor", 100*sa, 100*set.slots)
			}
		})
	}
}

// blindFloor and blind6Floor are just below the blind sets' figures
// (blind5: 81.6% with the rules after the fifth round, then 87.1%, 91.0%
// and, after the eighth, 94.5%; blind6: 82.9%, 88.8%, 95.2%; see
// docs/assistant.md), so that regressions show.
// blindSlotFloor is below both blind sets' slot accuracy with the
// learned slot fallback of the ninth round (89.8% and 89.4%; 82.5% and
// 81.0% from the rules alone).
const (
	blindFloor     = 0.94
	blind6Floor    = 0.95
	blindSlotFloor = 0.89
)
