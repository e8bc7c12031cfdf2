package intent

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The learned slot fallback: per slot kind with a closed set of values
// (SlotKinds), a multinomial logistic regression like the intent
// classifier's (same features, same trainer), whose classes are the
// values labelled in the training sets and "none". It is used only where
// the final intent's answer needs that kind of slot and the rules left it
// empty (SlotBlend.Fill), or, when very sure, to replace the rules' value
// (SlotBlend.Override). A slot only selects which report field is
// answered, never a number: answers stay grounded.

// SlotKinds are the slots the slot classifiers learn.
var SlotKinds = []string{"measure", "lesion", "disease", "term"}

// NoSlot is the class of a question without the slot.
const NoSlot = "none"

// SlotModels are the slot classifiers, one per kind.
type SlotModels struct {
	Kinds  []string
	Models map[string]*Model
}

// SlotDataHash identifies the slot classifiers' training set (questions,
// intents and slot labels, in order).
func SlotDataHash(exs []Example) string {
	h := sha256.New()
	for _, e := range exs {
		keys := make([]string, 0, len(e.Slots))
		for k := range e.Slots {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+e.Slots[k])
		}
		fmt.Fprintf(h, "%s\t%s\t%s\n", e.Intent, strings.Join(kv, ","), e.Text)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultSlotTrainOptions are the slot classifiers' shipped
// hyper-parameters (chosen by leave-one-set-out; see docs/assistant.md):
// the intent classifier's, plus the question's intent as a feature,
// character n-grams in at least 5 training questions, and weights below
// 0.2 (after centring each feature's weights) pruned.
var DefaultSlotTrainOptions = TrainOptions{Epochs: 30, Rate: 0.2, L2: 1e-5, CharMin: 5, Word: 1, Bigram: 0.7, Char: 1, Concept: 1, Shape: 0.5, IntentFeat: 1, Prune: 0.2}

// TrainSlots fits one classifier per kind, deterministically. In
// training the intent feature is the labelled intent.
func (r *Recognizer) TrainSlots(exs []Example, kinds []string, o TrainOptions) *SlotModels {
	feats := make([][]feature, len(exs))
	for i, e := range exs {
		res := r.rules(e.Text)
		res.Intent = e.Intent
		feats[i] = r.features(res, o)
	}
	sm := &SlotModels{Kinds: append([]string(nil), kinds...), Models: map[string]*Model{}}
	data := SlotDataHash(exs)
	for _, k := range kinds {
		seen := map[string]bool{}
		for _, e := range exs {
			if v := e.Slots[k]; v != "" {
				seen[v] = true
			}
		}
		classes := []string{NoSlot}
		for v := range seen {
			classes = append(classes, v)
		}
		sort.Strings(classes[1:])
		at := map[string]int{}
		for i, c := range classes {
			at[c] = i
		}
		labels := make([]int, len(exs))
		for i, e := range exs {
			labels[i] = at[NoSlot]
			if v := e.Slots[k]; v != "" {
				labels[i] = at[v]
			}
		}
		sm.Models[k] = fit(feats, labels, classes, o, data)
	}
	return sm
}

// SlotBlend says when a slot classifier's value is taken.
type SlotBlend struct {
	// Fill: a slot the final intent's answer needs, left empty by the
	// rules, takes the classifier's most likely value (other than none)
	// when its probability is at least Fill.
	Fill float64
	// Override: the classifier's value replaces the rules' one when its
	// probability is at least Override (above 1: never).
	Override float64
}

// DefaultSlotBlend is the shipped combination, chosen by
// leave-one-set-out on questions_train2-4.tsv (741 labelled slots; both
// classifiers trained on the other eight sets): rules 85.8%, fill ≥ 0.4
// and override ≥ 0.9 91.2% (no rule slot lost, 5 fills where no slot is
// labelled), fill only 90.0%, fill ≥ 0.2 92.0% but 17 unlabelled fills.
// See docs/assistant.md, ninth round.
var DefaultSlotBlend = SlotBlend{Fill: 0.4, Override: 0.9}

// SetSlotModels makes Recognize fill slots with the slot classifiers
// (nil: the rules alone).
func (r *Recognizer) SetSlotModels(sm *SlotModels, b SlotBlend) {
	r.slotModels, r.slotBlend = sm, b
}

// CombineSlots applies slot classifiers to a result as Recognize would
// with them (for cross-validation).
func (r *Recognizer) CombineSlots(res Result, sm *SlotModels, b SlotBlend) Result {
	return r.fillSlots(sm, b, res)
}

// slotNeeded says whether the answer to an intent uses a kind of slot.
func slotNeeded(in Intent, kind string, s Slots) bool {
	switch kind {
	case "measure":
		switch in {
		case Vessels, Calibre, Disc, Anatomy, Quality, Modality:
			return true
		case Interpret:
			// A named lesion or disease is the subject of its judgement.
			return s.Lesion == "" && s.Disease == ""
		}
	case "lesion":
		return in == Lesions
	case "disease":
		return in == Disease && s.Measure == "" && s.Lesion == ""
	case "term":
		return in == Explain
	}
	return false
}

// Field is the slot of a kind ("measure", "lesion", "disease", "term",
// "tree", "zone", as the question sets name them), nil for another kind.
func (s *Slots) Field(kind string) *string {
	switch kind {
	case "measure":
		return &s.Measure
	case "lesion":
		return &s.Lesion
	case "disease":
		return &s.Disease
	case "term":
		return &s.Term
	case "tree":
		return &s.Tree
	case "zone":
		return &s.Zone
	}
	return nil
}

// slotValid says whether a value names something of the kind in the
// recognizer's vocabulary (a model may know values a custom vocabulary
// lacks); a measure must also belong to the intent asked.
func (r *Recognizer) slotValid(in Intent, kind, v string) bool {
	switch kind {
	case "measure":
		e, ok := r.entries["m:"+v]
		return ok && (in == Interpret || e.Intent == in)
	case "lesion":
		_, ok := r.entries["l:"+v]
		return ok
	case "disease":
		_, ok := r.entries["d:"+v]
		return ok
	case "term":
		for _, p := range []string{"t:", "m:", "l:", "d:"} {
			if _, ok := r.entries[p+v]; ok {
				return true
			}
		}
	}
	return false
}

// fillSlots applies the slot classifiers to a (blended) result.
func (r *Recognizer) fillSlots(sm *SlotModels, b SlotBlend, res Result) Result {
	var feats []feature
	for _, kind := range sm.Kinds {
		if !slotNeeded(res.Intent, kind, res.Slots) {
			continue
		}
		cur := res.Slots.Field(kind)
		if *cur != "" && b.Override > 1 {
			continue
		}
		m := sm.Models[kind]
		if feats == nil {
			feats = r.features(res, m.Options)
		}
		p := predictFeatures(m, feats)
		best := -1
		for k, c := range m.Classes {
			if c != NoSlot && (best < 0 || p[k] > p[best]) {
				best = k
			}
		}
		if best < 0 {
			continue
		}
		v := m.Classes[best]
		switch {
		case v == *cur:
			continue
		case *cur == "" && p[best] >= b.Fill:
		case *cur != "" && p[best] >= b.Override:
		default:
			continue
		}
		if !r.slotValid(res.Intent, kind, v) {
			continue
		}
		*cur = v
		res.SlotSource = append(res.SlotSource, kind)
	}
	return res
}

// predictFeatures returns a model's probabilities for extracted features
// (those of all slot models share their options).
func predictFeatures(m *Model, feats []feature) []float64 {
	K := len(m.Classes)
	p := make([]float64, K)
	for k := range p {
		p[k] = float64(m.bias[k])
	}
	for _, f := range feats {
		j, ok := m.index[f.name]
		if !ok {
			continue
		}
		row := m.w[j*K : j*K+K]
		for k := range p {
			p[k] += float64(row[k]) * f.v
		}
	}
	softmax(p)
	return p
}

// WriteTo writes the slot classifiers as text: a header, then per kind a
// "slot" line and the model as Model.WriteTo writes it.
func (sm *SlotModels) WriteTo(w io.Writer) (int64, error) {
	var n int64
	k, err := io.WriteString(w, "# slot classifiers: multinomial logistic regressions, one per slot kind; generated by go generate in internal/assistant (internal/trainintent); do not edit\n")
	n += int64(k)
	if err != nil {
		return n, err
	}
	for _, kind := range sm.Kinds {
		k, err := sm.Models[kind].write(w, "slot\t"+kind+"\n", true)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadSlotModels reads slot classifiers written by SlotModels.WriteTo.
func ReadSlotModels(rd io.Reader) (*SlotModels, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	sm := &SlotModels{Models: map[string]*Model{}}
	// Each "slot" line starts a model, read by ReadModel up to the next.
	parts := strings.Split("\n"+string(b), "\nslot\t")
	for _, part := range parts[1:] {
		kind, body, _ := strings.Cut(part, "\n")
		m, err := ReadModel(strings.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("slot %s: %v", kind, err)
		}
		sm.Kinds = append(sm.Kinds, kind)
		sm.Models[kind] = m
	}
	if len(sm.Kinds) == 0 {
		return nil, fmt.Errorf("no slot classifiers")
	}
	return sm, nil
}
