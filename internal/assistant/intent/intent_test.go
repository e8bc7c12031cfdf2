package intent

import (
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"What's the CDR?", []string{"whats", "the", "cdr"}},
		{"Arteries & veins, zone-B", []string{"artery", "vein", "zone", "b"}},
		{"vessels' widths (µm)", []string{"vessel", "width", "um"}},
		{"the analysis is focus", []string{"the", "analysis", "is", "focus"}},
	}
	for _, tt := range tests {
		if got := tokenize(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("tokenize(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"density", "density", 0},
		{"denisty", "density", 1}, // transposition
		{"vesel", "vessel", 1},
		{"hemorage", "hemorrhage", 2},
		{"tortuosity", "cdr", 3}, // capped at the limit
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b, 3); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCorrectAndRecognize(t *testing.T) {
	r := New(Vocabulary{
		{Key: "vessel_density", Kind: KindMeasure, Intent: Vessels, Phrases: []string{"vessel density", "density"}},
		{Key: "cdr", Kind: KindMeasure, Intent: Disc, Phrases: []string{"cup to disc ratio"}},
		{Key: "glaucoma", Kind: KindDisease, Intent: Disease, Phrases: []string{"glaucoma"}},
	})
	tests := []struct {
		q      string
		intent Intent
		slots  Slots
	}{
		{"whats the vesel denisty", Vessels, Slots{Measure: "vessel_density"}},
		{"cup to dsic ration?", Disc, Slots{Measure: "cdr"}},
		{"what does cup to disc ratio mean", Explain, Slots{Measure: "cdr", Term: "cdr"}},
		{"is the density normal", Interpret, Slots{Measure: "vessel_density"}},
		{"glaucomma?", Disease, Slots{Disease: "glaucoma"}},
		{"and the veins in zone b?", FollowUp, Slots{Tree: "vein", Zone: "B"}},
		{"where exactly?", Location, Slots{Aspect: "where"}},
		{"tell me a joke", OutOfScope, Slots{}},
		{"what is the density of gold", OutOfScope, Slots{Measure: "vessel_density"}},
		{"hello", Greeting, Slots{Aspect: "hello"}},
	}
	for _, tt := range tests {
		got := r.Recognize(tt.q)
		if got.Intent != tt.intent || got.Slots != tt.slots {
			t.Errorf("Recognize(%q) = %s %+v, want %s %+v (tokens %v)", tt.q, got.Intent, got.Slots, tt.intent, tt.slots, got.Tokens)
		}
	}
}

func TestFallbackAndMeasureChoice(t *testing.T) {
	r := New(Vocabulary{
		{Key: "average_width", Kind: KindMeasure, Intent: Vessels, Phrases: []string{"width", "how thick"}},
		{Key: "rim", Kind: KindMeasure, Intent: Disc, Phrases: []string{"neuroretinal rim"}},
	})
	if got := r.Recognize("how thick is the neuroretinal rim?"); got.Intent != Disc || got.Slots.Measure != "rim" {
		t.Errorf("rim question: got %s %+v, want disc/rim", got.Intent, got.Slots)
	}
	if got := r.Recognize("who took this eye picture"); got.Intent != Overview || got.Slots.Aspect != "guess" {
		t.Errorf("on-topic fallback: got %s %+v, want overview/guess", got.Intent, got.Slots)
	}
	if got := r.Recognize("where can I buy a sofa"); got.Intent == Overview {
		t.Errorf("off-topic question fell back to overview")
	}
	if got := r.Recognize("does that mean something is wrong?"); got.Intent != Interpret {
		t.Errorf("judgement question: got %s, want interpret", got.Intent)
	}
}

// The fifth round's rules (from questions_blind4.tsv's misses), on a small
// vocabulary.
func TestFifthRoundRules(t *testing.T) {
	r := New(Vocabulary{
		{Key: "laterality", Kind: KindMeasure, Intent: Anatomy, Phrases: []string{"which eye"}},
		{Key: "fovea_position", Kind: KindMeasure, Intent: Anatomy, Phrases: []string{"where is the fovea"}},
		{Key: "avr", Kind: KindMeasure, Intent: Calibre, Phrases: []string{"av ratio"}},
		{Key: "isnt", Kind: KindMeasure, Intent: Disc, Phrases: []string{"isnt"}},
		{Key: "fundus_photo", Kind: KindTerm, Intent: Modality, Phrases: []string{"fundus image"}},
		{Key: "zone_c", Kind: KindTerm, Intent: FollowUp, Phrases: []string{"zone c"}},
		{Key: "abnormal", Kind: KindDisease, Intent: Disease, Phrases: []string{"normal eye"}},
	})
	tests := []struct {
		q      string
		intent Intent
		slots  Slots
	}{
		// A clause after "and <question word>" does not override the first.
		{"which eye is this and where is the fovea", Anatomy, Slots{Measure: "laterality"}},
		// Comparing the two trees is their ratio, over both trees.
		{"are the arterioles narrower than the venules?", Calibre, Slots{Measure: "avr"}},
		// "X thing", "X is what" ask what X is.
		{"what is this ISNT thing", Explain, Slots{Measure: "isnt", Term: "isnt"}},
		{"zone C is what?", Explain, Slots{Zone: "C", Term: "zone_c"}},
		// "very clear": thanks, or quality when the photo is named.
		{"thanks, very clear", Greeting, Slots{Aspect: "thanks"}},
		{"is the photo very clear", Quality, Slots{}},
		// "what can you tell me about <the photo>" is the overview.
		{"what can you tell me about this fundus image", Overview, Slots{Term: "fundus_photo"}},
		{"what can you tell me about", Help, Slots{}},
		// "what does my scan show (overall)" is the overview.
		{"what does my eye scan show overall", Overview, Slots{Tree: "all", Zone: "whole"}},
		// A judgement of the photo is not one of the eye.
		{"is this a normal eye photo or some kind of scan", Modality, Slots{}},
		{"is everything as it should be in this eye", Disease, Slots{Disease: "abnormal"}},
		{"my eye is good or no?", Disease, Slots{Disease: "abnormal"}},
		// A closing "too" is "also"; "as well", "same but for" are follow-ups.
		{"in zone C too?", FollowUp, Slots{Zone: "C", Term: "zone_c"}},
		{"zone C as well?", FollowUp, Slots{Zone: "C", Term: "zone_c"}},
		// A short question asking for numbers is not a fragment.
		{"vein measurements?", Vessels, Slots{Tree: "vein"}},
	}
	for _, tt := range tests {
		got := r.Recognize(tt.q)
		if got.Intent != tt.intent || got.Slots != tt.slots {
			t.Errorf("Recognize(%q) = %s %+v, want %s %+v (tokens %v, concepts %v)", tt.q, got.Intent, got.Slots, tt.intent, tt.slots, got.Tokens, got.Concepts)
		}
	}
}
