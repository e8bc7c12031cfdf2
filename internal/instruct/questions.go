package instruct

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Kind is a kind of question: about the Report (answered by the built-in
// engine) or about the dataset's labels (answered from the labels).
type Kind string

// Question kinds.
const (
	KindOverview    Kind = "overview"
	KindVessels     Kind = "vessels"
	KindCalibre     Kind = "calibre"
	KindDisc        Kind = "disc"
	KindQuality     Kind = "quality"
	KindModality    Kind = "modality"
	KindAnatomy     Kind = "anatomy"
	KindLesions     Kind = "lesions"
	KindLabelDR     Kind = "label_dr"
	KindLabelDME    Kind = "label_dme"
	KindLabelGlauc  Kind = "label_glaucoma"
	KindLabelCDR    Kind = "label_cdr"
	KindLabelMyopia Kind = "label_myopic_maculopathy"
	KindLabelEyeQ   Kind = "label_quality"
	KindLabelOther  Kind = "label_diseases"
)

// bank holds the phrasings per kind. Report kinds are phrased so the
// assistant's recognizer understands them (they come from its tuned
// question set); label kinds are answered here.
var bank = map[Kind][]string{
	KindOverview: {"Give me a summary of this photo.", "What did you find?", "Can you describe the photo?", "What does the image show?"},
	KindVessels: {"What is the vessel density?", "How dense are the vessels?", "What is the fractal dimension?",
		"How wide are the vessels?", "How tortuous are the vessels?", "Tell me the vascular density."},
	KindCalibre:  {"What is the CRAE?", "What's the CRVE?", "What is the AVR?", "What's the artery to vein ratio?"},
	KindDisc:     {"What is the cup to disc ratio?", "What's the cup-to-disc ratio?", "How big is the optic disc?", "Vertical CDR?"},
	KindQuality:  {"Is the image quality good?", "Is the photo good enough to grade?", "Is this image usable?", "Should I retake the photo?"},
	KindModality: {"What kind of image is this?", "What type of photo is this?", "Is this a fundus photo?"},
	KindAnatomy:  {"Which eye is this?", "Is this the left or right eye?", "Where is the fovea?", "Is the photo macula-centred?"},
	// Lesion answers (only for Reports analysed with --lesions) give each
	// type's count, quadrants in words and RetinalGPT's normalized boxes
	// [x_min, y_min, x_max, y_max] (4 decimals), all from the Report.
	KindLesions: {"Are there any lesions?", "Any haemorrhages?", "Are there exudates?", "Where are the lesions?",
		"Where are the haemorrhages?", "Where are the hard exudates?", "Are there cotton wool spots?"},

	KindLabelDR:     {"Does this eye have diabetic retinopathy?", "What diabetic retinopathy grade was this photo given?", "Is there any sign of diabetic retinopathy?"},
	KindLabelDME:    {"Is there diabetic macular oedema?", "What is the macular oedema risk for this eye?"},
	KindLabelGlauc:  {"Is this eye glaucomatous?", "Was this eye diagnosed with glaucoma?"},
	KindLabelCDR:    {"What cup-to-disc ratio did the experts measure?", "What did the graders say about the cup-to-disc ratio?"},
	KindLabelMyopia: {"Is there myopic maculopathy?", "What myopic maculopathy category is this?"},
	KindLabelEyeQ:   {"How did the graders rate the image quality?", "Was this photo graded as good quality?"},
	KindLabelOther:  {"What diseases were diagnosed in this eye?", "Is this eye normal?"},
}

// reportKinds are asked of the engine; lesions only when the Report has
// a lesions section (analysed with --lesions), and then always (Plan),
// calibre only when it was computed.
var reportKinds = []Kind{KindOverview, KindVessels, KindCalibre, KindDisc, KindQuality, KindModality, KindAnatomy, KindLesions}

var labelKinds = []Kind{KindLabelDR, KindLabelDME, KindLabelGlauc, KindLabelCDR, KindLabelMyopia, KindLabelEyeQ, KindLabelOther}

// Question is one planned human turn.
type Question struct {
	Kind Kind
	Text string
}

// Seed derives a deterministic random source from a hex content hash
// (the image's SHA-256) and a salt (one stream per output).
func Seed(hash, salt string) *rand.Rand {
	b := sha256.Sum256([]byte(hash + "\x00" + salt))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(b[0:8]), binary.LittleEndian.Uint64(b[8:16])))
}

// Available lists the kinds that can be asked about rep and labels:
// report kinds the Report has something to say about, label kinds the
// labels set.
func Available(rep *report.Report, l dataset.Labels) []Kind {
	var out []Kind
	for _, k := range reportKinds {
		switch k {
		case KindVessels:
			if rep.Vessels == nil || rep.Vessels.Measures == nil {
				continue
			}
		case KindCalibre:
			if rep.Vessels == nil || rep.Vessels.Calibre == nil || !rep.Vessels.Calibre.Computed {
				continue
			}
		case KindDisc:
			if rep.Disc == nil || !rep.Disc.Found {
				continue
			}
		case KindQuality:
			if rep.Quality == nil {
				continue
			}
		case KindAnatomy:
			if rep.Anatomy == nil {
				continue
			}
		case KindLesions:
			if rep.Lesions == nil || len(rep.Lesions.Types) == 0 {
				continue
			}
		}
		out = append(out, k)
	}
	for _, k := range labelKinds {
		if labelAnswer(k, l) != "" {
			out = append(out, k)
		}
	}
	return out
}

// Plan chooses the questions of one stage-2 conversation: 3-6 distinct
// kinds (fewer only when fewer are available), at most two about labels
// and at least one when the labels say anything, in random order, each
// with a random phrasing — all drawn from Seed(hash, "stage2"), so the
// same image always gets the same plan. A Report with a lesions section
// always gets a lesion question (in place of another report kind, so
// without lesions the plan is what it always was). Spare kinds follow
// the chosen ones, for when a turn has to be dropped.
func Plan(hash string, kinds []Kind) (chosen, spare []Question) {
	r := Seed(hash, "stage2")
	var rep, lab []Kind
	for _, k := range kinds {
		if strings.HasPrefix(string(k), "label_") {
			lab = append(lab, k)
		} else {
			rep = append(rep, k)
		}
	}
	r.Shuffle(len(rep), func(i, j int) { rep[i], rep[j] = rep[j], rep[i] })
	r.Shuffle(len(lab), func(i, j int) { lab[i], lab[j] = lab[j], lab[i] })
	n := 3 + r.IntN(4)
	nl := min(len(lab), 1+r.IntN(2))
	picked := append([]Kind{}, lab[:nl]...)
	rest := append(append([]Kind{}, rep...), lab[nl:]...)
	for len(picked) < n && len(rest) > 0 {
		picked, rest = append(picked, rest[0]), rest[1:]
	}
	// The lesion stage is what --lesions builds are for: a Report that
	// has lesion findings is asked about them.
	if li := slices.Index(rest, KindLesions); li >= 0 {
		for j := len(picked) - 1; j >= 0; j-- {
			if !strings.HasPrefix(string(picked[j]), "label_") {
				picked[j], rest[li] = rest[li], picked[j]
				break
			}
		}
	}
	r.Shuffle(len(picked), func(i, j int) { picked[i], picked[j] = picked[j], picked[i] })
	q := func(k Kind) Question { p := bank[k]; return Question{k, p[r.IntN(len(p))]} }
	for _, k := range picked {
		chosen = append(chosen, q(k))
	}
	for _, k := range rest {
		spare = append(spare, q(k))
	}
	return chosen, spare
}

var drGradeNames = []string{"no diabetic retinopathy", "mild non-proliferative diabetic retinopathy",
	"moderate non-proliferative diabetic retinopathy", "severe non-proliferative diabetic retinopathy",
	"proliferative diabetic retinopathy"}

var mmNames = []string{"no macular lesion", "tessellated fundus", "diffuse chorioretinal atrophy", "patchy chorioretinal atrophy", "macular atrophy"}

var eyeqNames = []string{"good", "usable", "reject (not gradable)"}

const labelSource = "according to the dataset's graders"

// labelAnswer answers a label question from the labels alone, or "" when
// the labels do not say. It quotes only label values (no scale bounds),
// so Verify can check every number.
func labelAnswer(k Kind, l dataset.Labels) string {
	yes := func(b *bool, pos, neg string) string {
		if b == nil {
			return ""
		}
		if *b {
			return pos
		}
		return neg
	}
	switch k {
	case KindLabelDR:
		if g := l.DRGrade; g != nil && *g >= 0 && *g < len(drGradeNames) {
			s := fmt.Sprintf("The dataset's graders gave this photo ICDR grade %d: %s.", *g, drGradeNames[*g])
			if l.ReferableDR != nil {
				s += yes(l.ReferableDR, " That counts as referable diabetic retinopathy.", " That is not referable diabetic retinopathy.")
			}
			return s
		}
		return yes(l.DR, "The dataset labels this eye as having diabetic retinopathy (ungraded).",
			"The dataset labels this eye as having no diabetic retinopathy.")
	case KindLabelDME:
		if r := l.DMERisk; r != nil {
			names := []string{"no macular oedema risk", "a mild risk of macular oedema (exudates far from the macula)", "a high risk of macular oedema (exudates near the macula)"}
			if *r >= 0 && *r < len(names) {
				return fmt.Sprintf("The dataset's graders gave DME risk grade %d on IDRiD's scale: %s.", *r, names[*r])
			}
		}
		return yes(l.DME, "Diabetic macular oedema is present "+labelSource+".", "There is no diabetic macular oedema "+labelSource+".")
	case KindLabelGlauc:
		return yes(l.Glaucoma, "Yes: this eye is labelled glaucomatous "+labelSource+".", "No: this eye is labelled normal for glaucoma "+labelSource+".")
	case KindLabelCDR:
		if l.CDR != nil {
			return fmt.Sprintf("The experts' mean vertical cup-to-disc ratio for this eye is %s.", trimFloat(*l.CDR, 4))
		}
	case KindLabelMyopia:
		if m := l.MyopicMaculopathy; m != nil && *m >= 0 && *m < len(mmNames) {
			return fmt.Sprintf("The graders put it in META-PM category %d: %s.", *m, mmNames[*m])
		}
	case KindLabelEyeQ:
		if q := l.Quality; q != nil && *q >= 0 && *q < len(eyeqNames) {
			return "The dataset's graders rated the image quality " + eyeqNames[*q] + " (EyeQ grading)."
		}
	case KindLabelOther:
		var pos, neg []string
		for _, d := range []struct {
			b    *bool
			name string
		}{{l.DR, "diabetic retinopathy"}, {l.Glaucoma, "glaucoma"}, {l.Cataract, "cataract"}, {l.AMD, "age-related macular degeneration"},
			{l.Hypertension, "hypertensive retinopathy"}, {l.Myopia, "pathologic myopia"}, {l.Other, "another abnormality"}} {
			if d.b == nil {
				continue
			}
			if *d.b {
				pos = append(pos, d.name)
			} else {
				neg = append(neg, d.name)
			}
		}
		var s []string
		if l.Normal != nil && *l.Normal {
			s = append(s, "The dataset labels this eye as normal.")
		}
		if len(pos) > 0 {
			s = append(s, "The dataset labels this eye with "+strings.Join(pos, ", ")+".")
		}
		if len(l.Findings) > 0 {
			s = append(s, "Findings as the dataset codes them: "+strings.Join(l.Findings, ", ")+".")
		}
		if len(s) == 0 && len(neg) > 0 {
			s = append(s, "The dataset labels no "+strings.Join(neg, ", no ")+" in this eye.")
		}
		return strings.Join(s, " ")
	}
	return ""
}

// LabelSummary is one sentence per label the record has, for stage-1
// descriptions; "" when it has none.
func LabelSummary(l dataset.Labels) string {
	var s []string
	for _, k := range labelKinds {
		if a := labelAnswer(k, l); a != "" && !strings.Contains(strings.Join(s, " "), a) {
			s = append(s, a)
		}
	}
	return strings.Join(s, " ")
}

// stage1Prompts are the stage-1 instructions; the image token goes before
// or after them at random.
var stage1Prompts = []string{
	"Describe this fundus photograph.",
	"What can you tell me about this retinal image?",
	"Summarize the findings in this photo of the retina.",
	"Give a short report on this colour fundus photo.",
	"Analyse this eye photograph.",
}

// Conversation is one built sample with the kinds asked and the turns
// dropped because an answer quoted a number Verify could not ground.
type Conversation struct {
	Sample  Sample
	Kinds   []Kind
	Dropped []string // "kind: number, number"
}

// Stage1 builds the one-turn description of a record: the engine's
// overview of rep, then the labels.
func Stage1(ctx context.Context, id, image, hash string, rep *report.Report, l dataset.Labels) (Conversation, error) {
	r := Seed(hash, "stage1")
	prompt := stage1Prompts[r.IntN(len(stage1Prompts))]
	if r.IntN(2) == 0 {
		prompt = ImageToken + "\n" + prompt
	} else {
		prompt = prompt + "\n" + ImageToken
	}
	s, err := assistant.NewSession(nil, rep)
	if err != nil {
		return Conversation{}, err
	}
	a, err := s.Ask(ctx, "describe the photo")
	if err != nil {
		return Conversation{}, err
	}
	// The engine's overview is checked against its own grounded facts,
	// the label sentences against the labels.
	if bad := Verify(a.Text, a.Grounded); len(bad) > 0 {
		return Conversation{}, fmt.Errorf("stage 1 %s answer quotes %s, not among its grounded values", KindOverview, strings.Join(bad, ", "))
	}
	text := a.Text
	if ls := LabelSummary(l); ls != "" {
		if bad := VerifyLabels(ls, l); len(bad) > 0 {
			return Conversation{}, fmt.Errorf("stage 1 label summary quotes %s, not among the labels' values", strings.Join(bad, ", "))
		}
		text += " " + ls
	}
	c := Conversation{Kinds: []Kind{KindOverview}}
	c.Sample = Sample{ID: id, Image: image, Conversations: []Message{{FromHuman, prompt}, {FromGPT, text}}}
	return c, nil
}

// Stage2 builds the multi-turn conversation of a record from Plan. An
// answer that quotes a number its own provenance does not give (Verify:
// the engine answer's grounded facts; VerifyLabels: the labels) is
// dropped and listed as "kind: numbers" (and a spare question asked
// instead); fewer than three turns left is an error.
func Stage2(ctx context.Context, id, image, hash string, rep *report.Report, l dataset.Labels) (Conversation, error) {
	chosen, spare := Plan(hash, Available(rep, l))
	s, err := assistant.NewSession(nil, rep)
	if err != nil {
		return Conversation{}, err
	}
	var c Conversation
	want := len(chosen)
	queue := append(chosen, spare...)
	var msgs []Message
	for _, q := range queue {
		if len(msgs)/2 == want {
			break
		}
		var ans string
		var bad []string
		if strings.HasPrefix(string(q.Kind), "label_") {
			ans = labelAnswer(q.Kind, l)
			bad = VerifyLabels(ans, l)
			s.Conv.Turns = append(s.Conv.Turns, assistant.Turn{Role: assistant.User, Text: q.Text}, assistant.Turn{Role: assistant.Assistant, Text: ans})
		} else {
			a, err := s.Ask(ctx, q.Text)
			if err != nil {
				return Conversation{}, err
			}
			ans, bad = a.Text, Verify(a.Text, a.Grounded)
		}
		if len(bad) > 0 {
			c.Dropped = append(c.Dropped, string(q.Kind)+": "+strings.Join(bad, ", "))
			continue
		}
		msgs = append(msgs, Message{FromHuman, q.Text}, Message{FromGPT, ans})
		c.Kinds = append(c.Kinds, q.Kind)
	}
	if len(msgs)/2 < 3 {
		return Conversation{}, fmt.Errorf("only %d verified turns (dropped %v)", len(msgs)/2, c.Dropped)
	}
	msgs[0].Value = ImageToken + "\n" + msgs[0].Value
	c.Sample = Sample{ID: id, Image: image, Conversations: msgs}
	return c, nil
}
