package intent

import (
	"bytes"
	"slices"
	"testing"
)

// A slot classifier fills a slot the answer needs and the rules missed,
// never one the intent does not use, and reads back as written.
func TestSlotFallback(t *testing.T) {
	r := New(Vocabulary{
		{Key: "fovea_position", Kind: KindMeasure, Intent: Anatomy, Phrases: []string{"fovea position", "where is the fovea"}},
		{Key: "laterality", Kind: KindMeasure, Intent: Anatomy, Phrases: []string{"which eye"}},
		{Key: "haemorrhage", Kind: KindLesion, Intent: Lesions, Phrases: []string{"haemorrhage", "bleed"}},
	})
	var exs []Example
	for i := 0; i < 20; i++ {
		exs = append(exs,
			Example{"fovea coordinates", Anatomy, map[string]string{"measure": "fovea_position"}},
			Example{"fovea xy please", Anatomy, map[string]string{"measure": "fovea_position"}},
			Example{"left or right eye", Anatomy, map[string]string{"measure": "laterality"}},
			Example{"HE count", Lesions, map[string]string{"lesion": "haemorrhage"}},
			Example{"any lesions", Lesions, nil},
			Example{"hello there", Greeting, nil},
		)
	}
	o := DefaultSlotTrainOptions
	sm := r.TrainSlots(exs, []string{"measure", "lesion"}, o)
	var buf bytes.Buffer
	if _, err := sm.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSlotModels(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Kinds, sm.Kinds) || !slices.Equal(back.Models["measure"].Classes, sm.Models["measure"].Classes) {
		t.Fatalf("read back kinds %v classes %v, wrote %v %v", back.Kinds, back.Models["measure"].Classes, sm.Kinds, sm.Models["measure"].Classes)
	}
	for _, name := range sm.Models["lesion"].Features() {
		if !slices.Equal(back.Models["lesion"].Weights(name), sm.Models["lesion"].Weights(name)) {
			t.Fatalf("feature %q: read back %v, wrote %v", name, back.Models["lesion"].Weights(name), sm.Models["lesion"].Weights(name))
		}
	}
	b := SlotBlend{Fill: 0.4, Override: 2}
	fill := func(text string, in Intent) Result {
		res := r.Rules(text)
		res.Intent = in
		return r.CombineSlots(res, back, b)
	}
	if got := fill("fovea coordinates?", Anatomy); got.Slots.Measure != "fovea_position" || !slices.Equal(got.SlotSource, []string{"measure"}) {
		t.Errorf("fovea coordinates: %+v from %v, want measure fovea_position from the classifier", got.Slots, got.SlotSource)
	}
	if got := fill("HE count?", Lesions); got.Slots.Lesion != "haemorrhage" {
		t.Errorf("HE count: %+v, want lesion haemorrhage", got.Slots)
	}
	// A greeting needs no slot: nothing is filled.
	if got := fill("fovea coordinates?", Greeting); got.Slots.Measure != "" || len(got.SlotSource) > 0 {
		t.Errorf("greeting: %+v from %v, want no slot", got.Slots, got.SlotSource)
	}
	// A rule value stays without an override.
	if got := fill("which eye, fovea coordinates", Anatomy); got.Slots.Measure != "laterality" {
		t.Errorf("rule value replaced: %+v", got.Slots)
	}
	// A value the vocabulary lacks is never taken.
	r2 := New(Vocabulary{{Key: "laterality", Kind: KindMeasure, Intent: Anatomy, Phrases: []string{"which eye"}}})
	res := r2.Rules("fovea coordinates")
	res.Intent = Anatomy
	if got := r2.CombineSlots(res, back, b); got.Slots.Measure != "" {
		t.Errorf("filled %q, which the vocabulary lacks", got.Slots.Measure)
	}
}
