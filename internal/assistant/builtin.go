package assistant

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
)

// Builtin is the grounded responder: intent recognition (rules blended
// with a small embedded linear classifier; slots the rules miss filled by
// embedded slot classifiers), follow-up resolution and
// registry lookups; no network.
type Builtin struct {
	reg *Registry
	rec *intent.Recognizer
}

// NewBuiltin makes the responder for a registry (nil: DefaultRegistry).
func NewBuiltin(reg *Registry) *Builtin {
	if reg == nil {
		reg = DefaultRegistry()
	}
	rec := intent.New(reg.Vocabulary())
	rec.SetModel(intentModel(), intent.DefaultBlend)
	rec.SetSlotModels(slotModels(), intent.DefaultSlotBlend)
	return &Builtin{reg: reg, rec: rec}
}

// Recognize exposes the intent recognizer (for the question-set tests and
// the CLI's --json).
func (b *Builtin) Recognize(q string) intent.Result { return b.rec.Recognize(q) }

// Respond answers the last user turn.
func (b *Builtin) Respond(ctx context.Context, conv *Conversation, doc *Document) (Answer, error) {
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	q, turn := conv.Question()
	rec := b.rec.Recognize(q)
	query := b.resolve(rec, conv.answers())
	w := &writer{b: b, doc: doc, turn: max(turn, 0)}
	w.answer(query)
	return Answer{Text: strings.TrimSpace(w.text.String()), Intent: rec.Intent, Query: query, Grounded: w.values, Missing: w.missing}, nil
}

// topical intents are those a follow-up can continue.
var topical = map[intent.Intent]bool{intent.Vessels: true, intent.Calibre: true, intent.Disc: true, intent.Anatomy: true,
	intent.Quality: true, intent.Modality: true, intent.Lesions: true, intent.Disease: true, intent.Explain: true, intent.Interpret: true}

// resolve turns a fragment ("and the veins?", "where exactly?", "is that
// bad?", "what does that mean?") into a full query using the last topical
// answer.
func (b *Builtin) resolve(rec intent.Result, prev []*Answer) Query {
	q := Query{Intent: rec.Intent, Slots: rec.Slots}
	var focus *Query
	for _, a := range prev {
		if topical[a.Query.Intent] {
			focus = &a.Query
			break
		}
	}
	s := rec.Slots
	noTopic := s.Measure == "" && s.Lesion == "" && s.Disease == "" && s.Term == ""
	followCue := false
	for _, c := range rec.Concepts {
		if c == "cue:followup" {
			followCue = true
		}
	}
	if focus == nil {
		if q.Intent == intent.FollowUp && (s.Tree != "" || s.Zone != "") && s.Measure == "" {
			q.Intent = intent.Vessels // "what about the arteries?" as a first question
		}
		return q
	}
	f := *focus
	switch {
	case q.Intent == intent.FollowUp && s.Aspect == "why" && noTopic:
		// "why?": the evidence behind a judgement, the meaning and range
		// behind a value.
		q = f
		q.Slots.Aspect = "why"
		if q.Intent != intent.Disease && q.Intent != intent.Lesions {
			if q.Slots.Measure != "" {
				q.Intent = intent.Interpret
			} else if q.Intent == intent.Interpret || q.Intent == intent.Explain {
				q.Intent = b.intentOf(q.Slots)
			}
		}
	case q.Intent == intent.FollowUp:
		q = b.continueWith(f, s)
	case q.Intent == intent.Location:
		q = f
		q.Slots.Aspect = "where"
		if q.Intent == intent.Explain || q.Intent == intent.Interpret {
			q.Intent = b.intentOf(q.Slots)
		}
	case q.Intent == intent.Interpret && noTopic:
		q = f
		q.Intent = intent.Interpret
		q.Slots.Aspect = s.Aspect
	case q.Intent == intent.Explain && noTopic:
		q = f
		q.Intent = intent.Explain
		q.Slots.Term = firstNonEmpty(f.Slots.Measure, f.Slots.Lesion, f.Slots.Disease, f.Slots.Term)
		if q.Slots.Term == "" {
			q.Slots.Term = explainTopicOf[f.Intent]
		}
	case followCue && (f.Intent == intent.Explain || f.Intent == intent.Interpret) && !noTopic:
		// "what does tortuosity mean?" … "and fractal dimension?"
		q.Intent = f.Intent
		if f.Intent == intent.Explain && s.Term == "" {
			q.Slots.Term = firstNonEmpty(s.Measure, s.Lesion, s.Disease)
		}
	case followCue && noTopic && s.Tree == "" && s.Zone == "" && q.Intent == f.Intent:
		q = f
	}
	return q
}

// explainTopicOf is what "what does that mean?" explains after a general answer.
var explainTopicOf = map[intent.Intent]string{intent.Modality: "fundus_photo", intent.Disc: "optic_disc", intent.Quality: "confidence"}

func (b *Builtin) intentOf(s intent.Slots) intent.Intent {
	switch {
	case s.Measure != "":
		if m := b.reg.Measure(s.Measure); m != nil {
			return m.Intent
		}
	case s.Lesion != "":
		return intent.Lesions
	case s.Disease != "":
		return intent.Disease
	}
	return intent.Overview
}

// continueWith applies a fragment's slots to the focus.
func (b *Builtin) continueWith(f Query, s intent.Slots) Query {
	q := f
	// After "is that bad?" or "what does it mean?", "and in zone B?" asks
	// for the value there, not another interpretation.
	if (q.Intent == intent.Interpret || q.Intent == intent.Explain || q.Intent == intent.Location) && (s.Tree != "" || s.Zone != "") {
		q.Intent = b.intentOf(q.Slots)
		if q.Intent == intent.Overview {
			q.Intent = intent.Vessels
		}
		q.Slots.Term = ""
	}
	if s.Aspect != "" {
		q.Slots.Aspect = s.Aspect
	} else if q.Slots.Aspect == "where" {
		q.Slots.Aspect = ""
	}
	if s.Zone != "" {
		q.Slots.Zone = s.Zone
	}
	if s.Tree != "" {
		q.Slots.Tree = s.Tree
		// Within a family, a tree means its member: CRAE → "and the veins?" → CRVE.
		if m := b.reg.Measure(q.Slots.Measure); m != nil && m.Family != "" {
			want := s.Tree
			if want == "all" {
				want = ""
			}
			for _, o := range b.reg.Measures {
				if o.Family == m.Family && o.Tree == want {
					q.Slots.Measure = o.Key
					q.Slots.Tree = ""
					break
				}
			}
		}
	}
	if s.Lesion != "" {
		q.Slots.Lesion = s.Lesion
	}
	if q.Intent == intent.Explain && s.Term != "" && s.Zone == "" && s.Tree == "" {
		q.Slots.Term = s.Term
	}
	return q
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// writer builds one answer.
type writer struct {
	b       *Builtin
	doc     *Document
	turn    int
	text    strings.Builder
	values  []Value
	missing []Missing
}

func (w *writer) put(s string) { w.say("%s", s) }

func (w *writer) say(format string, args ...any) {
	if w.text.Len() > 0 {
		w.text.WriteByte(' ')
	}
	fmt.Fprintf(&w.text, format, args...)
}

// pick chooses a wording deterministically from the turn number.
func (w *writer) pick(options ...string) string { return options[w.turn%len(options)] }

func (w *writer) answer(q Query) {
	s := q.Slots
	switch q.Intent {
	case intent.Greeting:
		w.greeting(s.Aspect)
	case intent.Help:
		w.help()
	case intent.OutOfScope:
		w.say("%s", w.pick("That is outside what I can answer: I only talk about this fundus photograph and its measurements.",
			"I can't help with that; my knowledge is limited to this retinal photo and what the analysis measured.",
			"Sorry, that is not something this photo's analysis can tell me."))
		w.say("Try, for example, “what is the cup-to-disc ratio?” or “how tortuous are the vessels?”.")
	case intent.Overview:
		if s.Aspect == "guess" {
			w.say("I am not sure what you asked, so here is the overview; if you meant something specific, name it (for example “the cup-to-disc ratio” or “the image quality”).")
		}
		w.overview()
	case intent.Lesions:
		w.lesions(s)
	case intent.Disease:
		w.disease(s)
	case intent.Explain:
		w.explain(s)
	case intent.NextSteps:
		w.nextSteps()
	case intent.Location:
		w.say("Where is what? I can locate the optic disc, the fovea and zones B and C (and lesions, when the analysis ran with --lesions); ask, for example, “where is the fovea?”.")
	case intent.Interpret:
		if s.Measure == qualityKey {
			w.quality(true)
		} else if s.Measure != "" {
			w.measure(w.b.reg.Measure(s.Measure), s, true)
		} else if s.Disease != "" || s.Lesion != "" {
			q.Intent = w.b.intentOf(s)
			w.answer(q)
		} else {
			w.say("Is what normal? Ask about a measure, for example “is the cup-to-disc ratio normal?”.")
			w.put(notDiagnosis)
		}
	case intent.FollowUp:
		w.say("Which measure do you mean? For example “the vessel density in zone B” or “the width of the veins”.")
	default: // a measure or a topic
		if s.Measure == qualityKey && s.Aspect != "where" {
			w.quality(false)
			return
		}
		if m := w.b.reg.Measure(s.Measure); m != nil {
			w.measure(m, s, false)
			return
		}
		if t := w.b.term(s.Term); t != nil && t.See != "" {
			w.measure(w.b.reg.Measure(t.See), s, false)
			return
		}
		w.topic(q.Intent, Scope{s.Tree, s.Zone}, s.Aspect)
	}
}

func (w *writer) greeting(kind string) {
	switch kind {
	case "thanks":
		w.put(w.pick("You're welcome.", "Glad to help.", "Any time."))
		w.say("Ask me anything else about this photo.")
	case "bye":
		w.say("Goodbye. Remember that these are measurements, not a diagnosis.")
	default:
		file := w.doc.String("image.file")
		w.record("image", "image.file", file, "")
		w.say(w.pick("Hello! I have analysed %s.", "Hi! The analysis of %s is ready.", "Hello, %s is analysed."), file)
		w.say("Ask me about the optic disc and cup, the vessels (density, width, tortuosity, zones B and C), the landmarks, or what a measure means.")
	}
}

func (w *writer) help() {
	w.say("I answer questions about this fundus photograph from its analysis report, with the numbers and units the analysis measured:")
	w.say("the image (type, size, calibration) and its quality; the optic disc and cup (size, cup-to-disc ratio, rim, ISNT rule); the vessels (density, fractal dimension, width, tortuosity, branching, for the whole photo or zones B and C, and arteries or veins where measured); CRAE, CRVE and AVR; the fovea and which eye it is; lesions and diseases where the analysis assesses them; what a term means; and what to do next.")
	w.say("Follow-ups work: “and in zone B?”, “is that bad?”, “what does that mean?”, “where exactly?”.")
}

// quote formats a measure's fields at a scope, recording what it used.
// It returns "" when none of the fields is in the Report, and the first
// missing field's path.
func (w *writer) quote(m *Measure, fields []Field) (string, string, []Field) {
	type group struct {
		label string
		parts []string
	}
	var groups []*group
	byLabel := map[string]*group{}
	var used []Field
	firstMissing := ""
	for _, f := range fields {
		g := byLabel[f.Label]
		if g == nil {
			g = &group{label: f.Label}
			byLabel[f.Label] = g
			groups = append(groups, g)
		}
		v, ok := w.doc.Lookup(f.Path)
		if !ok {
			if firstMissing == "" && !f.Optional {
				firstMissing = f.Path
			}
			continue
		}
		if arr, isArr := v.([]any); isArr && len(arr) == 0 {
			continue
		}
		s := formatValue(v)
		if f.Unit != "" {
			s += " " + f.Unit
		}
		g.parts = append(g.parts, s)
		used = append(used, f)
		w.values = append(w.values, Value{Measure: m.Key, Label: f.Label, Path: f.Path, Value: v, Unit: f.Unit})
	}
	var out []string
	for _, g := range groups {
		if len(g.parts) == 0 {
			continue
		}
		s := g.parts[0]
		if len(g.parts) > 1 {
			s += " (" + strings.Join(g.parts[1:], ", ") + ")"
		}
		if g.label != "" {
			s = g.label + " " + s
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return "", firstMissing, nil
	}
	s := strings.Join(out, ", ")
	if m.Unitless {
		s += " (unitless)"
	}
	return s, firstMissing, used
}

func scopeText(s Scope) string {
	var b strings.Builder
	switch s.Tree {
	case "artery":
		b.WriteString(" of the arteries")
	case "vein":
		b.WriteString(" of the veins")
	}
	if z, ok := zoneWords[s.Zone]; ok {
		b.WriteString(" in " + z)
	}
	return b.String()
}

// measure answers one measure at the question's scope.
func (w *writer) measure(m *Measure, s intent.Slots, interpret bool) {
	sc := m.normalize(Scope{s.Tree, s.Zone})
	fields := m.FieldsAt(sc)
	name := m.Name
	if fields == nil && sc.Tree != "all" && m.Intent != intent.Vessels && m.Intent != intent.Calibre {
		w.say("The %s has no artery or vein version; ask, for example, “the width of the veins”.", name)
		return
	}
	if fields == nil {
		switch {
		case sc.Tree != "all" && m.FieldsAt(Scope{"all", sc.Zone}) != nil:
			w.say("The %s is not split into arteries and veins; it describes the vessels together.", name)
		case sc.Zone != "whole" && m.FieldsAt(Scope{sc.Tree, "whole"}) != nil:
			w.say("The %s is not measured per zone, only over the whole photo.", name)
		default:
			w.say("The %s is a property of the photo as a whole, not of a vessel tree or zone.", name)
		}
		if m.FieldsAt(Scope{}) == nil {
			return
		}
		sc = m.normalize(Scope{})
		fields = m.FieldsAt(sc)
	}
	val, miss, used := w.quote(m, fields)
	st := scopeText(sc)
	if m.DefaultZone != "" && s.Zone == "" {
		st = scopeText(Scope{sc.Tree, ""}) + " in zone " + sc.Zone
	}
	if val == "" {
		reason := w.why(miss)
		w.missing = append(w.missing, Missing{Measure: m.Key, Path: miss, Reason: reason})
		w.say(w.pick("I could not measure the %s%s because %s.", "There is no %s%s in this report: %s.", "The %s%s is not available, because %s."), name, st, reason)
		if other := w.otherScopes(m, sc); other != "" {
			w.say("What I do have: %s.", other)
		}
		return
	}
	if s.Aspect == "where" {
		if where := w.where(m, sc); where != "" {
			w.put(where)
			if !strings.HasPrefix(fields[0].Path, m.Where) {
				w.say("Its %s%s is %s.", name, st, val)
			}
			w.notes(m, used)
			return
		}
	}
	w.say(w.pick("The %[1]s%[2]s is %[3]s.", "I measured the %[1]s%[2]s at %[3]s.", "%[4]s%[2]s: %[3]s."), name, st, val, capitalize(name))
	w.notes(m, used)
	if interpret {
		if m.Normal != "" {
			w.say("For reference, %s.", m.Normal)
		} else {
			w.say("There is no published normal range for the %s that applies across cameras and segmentations, so I can't call this value normal or abnormal on its own.", name)
		}
		if flag := w.flag(m); flag != "" {
			w.say("Worth noting: %s.", flag)
		}
		w.put(notDiagnosis)
	}
	if s.Aspect == "more" {
		if m.Explain != "" {
			w.say("It is %s.", m.Explain)
		}
		if other := w.otherScopes(m, sc); other != "" {
			w.say("Elsewhere: %s.", other)
		}
	}
}

// notes adds the confidences and the calibration's caveat for µm values.
func (w *writer) notes(m *Measure, used []Field) {
	if len(m.Confidence) > 0 {
		var parts []string
		for _, f := range m.Confidence {
			if v, ok := w.doc.Lookup(f.Path); ok {
				parts = append(parts, f.Label+" "+formatValue(v))
				w.values = append(w.values, Value{Measure: m.Key, Label: f.Label, Path: f.Path, Value: v})
			}
		}
		if len(parts) > 0 {
			w.say("Model confidence: %s (it ranks results; it is not a calibrated probability).", strings.Join(parts, ", "))
		}
	}
	for _, f := range used {
		if f.Unit == "µm" || f.Unit == "mm²" {
			switch w.doc.String("calibration.source") {
			case "disc_diameter":
				w.say("The micrometres assume the optic disc is 1.8 mm across, so treat them as approximate.")
			case "fov_angle":
				w.say("The micrometres come from the camera's field of view, an approximation for an average eye.")
			}
			return
		}
	}
}

// otherScopes lists a measure's values at its other scopes, briefly.
func (w *writer) otherScopes(m *Measure, except Scope) string {
	var parts []string
	for _, sc := range m.Scopes() {
		if sc == except {
			continue
		}
		val, _, _ := w.quote(m, m.FieldsAt(sc))
		if val == "" {
			continue
		}
		where := strings.TrimPrefix(scopeText(sc), " ")
		if where == "" {
			where = "over the whole photo"
		}
		parts = append(parts, val+" "+shortScope(where))
	}
	return strings.Join(parts, "; ")
}

func shortScope(s string) string {
	if i := strings.Index(s, " ("); i >= 0 {
		return s[:i]
	}
	return s
}

// where describes a measure's position: its Point, or its zone's ring.
func (w *writer) where(m *Measure, sc Scope) string {
	if sc.Zone == "B" || sc.Zone == "C" {
		z := strings.ToLower(sc.Zone)
		inner, ok1 := w.doc.Lookup("disc.zones." + z + ".inner_px")
		outer, ok2 := w.doc.Lookup("disc.zones." + z + ".outer_px")
		x, ok3 := w.doc.Lookup("disc.zones." + z + ".center.x")
		y, ok4 := w.doc.Lookup("disc.zones." + z + ".center.y")
		if ok1 && ok2 && ok3 && ok4 {
			w.record(m.Key, "disc.zones."+z+".inner_px", inner, "px")
			w.record(m.Key, "disc.zones."+z+".outer_px", outer, "px")
			w.record(m.Key, "disc.zones."+z+".center.x", x, "px")
			w.record(m.Key, "disc.zones."+z+".center.y", y, "px")
			return fmt.Sprintf("Zone %s is the ring from %s to %s px around the disc centre at (%s, %s) px.", sc.Zone,
				formatValue(inner), formatValue(outer), formatValue(x), formatValue(y))
		}
	}
	if m.Where == "" {
		return ""
	}
	what := whereNames[m.Where]
	if what == "" {
		what = capitalize(m.Name)
	}
	return w.point(m.Key, m.Where, what)
}

func (w *writer) point(key, path, what string) string {
	x, ok1 := w.doc.Lookup(path + ".x")
	y, ok2 := w.doc.Lookup(path + ".y")
	xn, ok3 := w.doc.Lookup(path + ".x_norm")
	yn, ok4 := w.doc.Lookup(path + ".y_norm")
	if !(ok1 && ok2 && ok3 && ok4) {
		return ""
	}
	w.record(key, path+".x", x, "px")
	w.record(key, path+".y", y, "px")
	w.record(key, path+".x_norm", xn, "")
	w.record(key, path+".y_norm", yn, "")
	return fmt.Sprintf("%s is centred at (%s, %s) px, or (%s, %s) as a fraction of the image width and height (x to the right, y down)%s.",
		what, formatValue(x), formatValue(y), formatValue(xn), formatValue(yn), w.side(x, y))
}

// side says where a point is relative to the fovea, in words, when both
// landmarks are known.
func (w *writer) side(x, y any) string {
	fx, ok1 := w.num("anatomy.fovea.center.x")
	fy, ok2 := w.num("anatomy.fovea.center.y")
	px, _ := x.(float64)
	py, _ := y.(float64)
	if !ok1 || !ok2 || math.Hypot(px-fx, py-fy) < 1 {
		return ""
	}
	horiz := "to the left of"
	if px > fx {
		horiz = "to the right of"
	}
	return ", " + horiz + " the fovea in the photo"
}

func (w *writer) num(path string) (float64, bool) {
	v, ok := w.doc.Lookup(path)
	f, isNum := v.(float64)
	return f, ok && isNum
}

func (w *writer) record(key, path string, v any, unit string) {
	w.values = append(w.values, Value{Measure: key, Path: path, Value: v, Unit: unit})
}

// flag returns the measure's flag text with its value when it fires.
func (w *writer) flag(m *Measure) string {
	if m.Flag == nil {
		return ""
	}
	fs := m.FieldsAt(Scope{})
	if len(fs) == 0 {
		return ""
	}
	v, ok := w.doc.Lookup(fs[0].Path)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case float64:
		if m.Flag.Above != nil && x > *m.Flag.Above || m.Flag.Below != nil && x < *m.Flag.Below {
			return m.Flag.Say + " (" + formatValue(x) + ")"
		}
	case string:
		if m.Flag.Equals != "" && x == m.Flag.Equals {
			return m.Flag.Say
		}
	}
	return ""
}

// why gives the Report's reason for a missing path.
// Why says why the Report lacks the value at path, in the Report's own
// terms where it gives a reason ("the optic disc was not found (...)").
func (d *Document) Why(path string) string { return (&writer{doc: d}).why(path) }

func (w *writer) why(path string) string {
	if path == "" {
		return "the report does not contain it"
	}
	for _, a := range absence {
		if !strings.HasPrefix(path, a.Prefix) {
			continue
		}
		if a.When != "" {
			p := strings.TrimPrefix(a.When, "!")
			v, ok := w.doc.Lookup(p)
			if ok && v != false {
				continue
			}
		}
		if _, missing := w.doc.missingAt(path); missing == "" {
			continue
		}
		if a.Prefix == "vessels.zones" && a.When == "" {
			if say := pendingSay(path); say != "" {
				if _, ok := w.doc.Lookup(zoneOf(path)); ok {
					return say
				}
			}
		}
		if a.Detail != "" {
			if d := w.doc.String(a.Detail); d != "" {
				return a.Say + " (" + d + ")"
			}
		}
		return a.Say
	}
	if say := pendingSay(path); say != "" {
		return say
	}
	present, _ := w.doc.missingAt(path)
	if present != "" {
		if v, ok := w.doc.Lookup(present); ok {
			if m, ok := v.(map[string]any); ok {
				for _, k := range []string{"absent", "reason"} {
					if s, ok := m[k].(string); ok && s != "" {
						return s
					}
				}
			}
		}
	}
	if strings.HasSuffix(path, "_um") || strings.HasSuffix(path, "_mm2") {
		return "micrometres are given only under a calibration other than the disc's own assumed size"
	}
	return "the report (schema " + w.doc.String("schema_version") + ") does not contain it"
}

// zoneOf returns the zone element of a zone path: "vessels.zones[zone=B]".
func zoneOf(path string) string {
	if i := strings.Index(path, "]"); i >= 0 {
		return path[:i+1]
	}
	return path
}

var topicNames = map[intent.Intent]string{
	intent.Vessels: "vascular measures", intent.Calibre: "vessel calibres", intent.Disc: "optic disc and cup",
	intent.Anatomy: "landmarks", intent.Quality: "image quality", intent.Modality: "image",
}

// topic answers a general question about an intent's measures.
func (w *writer) topic(in intent.Intent, sc Scope, aspect string) {
	if in == intent.Modality {
		w.modality()
		return
	}
	if in == intent.Disc && aspect == "where" {
		w.measure(w.b.reg.Measure("disc_position"), intent.Slots{}, false)
		return
	}
	if in == intent.Quality {
		w.quality(false)
	}
	parts, reasons := w.summaries(in, sc)
	st := scopeText(sc)
	if len(parts) == 0 {
		reason := "the report has none"
		if len(reasons) > 0 {
			reason = reasons[0]
		}
		w.say("I could not measure the %s%s because %s.", topicNames[in], st, reason)
		return
	}
	switch in {
	case intent.Quality:
		w.say(w.pick("Also from the report: %s.", "Besides the grade: %s."), strings.Join(parts, "; "))
	default:
		w.say(w.pick("Here are the %[1]s%[2]s: %[3]s.", "The %[1]s%[2]s: %[3]s.", "For the %[1]s%[2]s I have %[3]s."), topicNames[in], st, strings.Join(parts, "; "))
	}
	if len(reasons) > 0 {
		w.say("Not available: %s.", strings.Join(reasons, "; "))
	}
}

// summaries quotes the Summary measures of an intent at a scope; missing
// ones come back as "name (reason)", those with the same reason merged.
func (w *writer) summaries(in intent.Intent, sc Scope) (parts, missing []string) {
	byReason := map[string][]string{}
	var order []string
	for i := range w.b.reg.Measures {
		m := &w.b.reg.Measures[i]
		if m.Intent != in || !m.Summary || m.Key == qualityKey {
			continue
		}
		fs := m.FieldsAt(sc)
		if fs == nil {
			if sc.Tree != "" && sc.Tree != "all" || sc.Zone != "" && sc.Zone != "whole" {
				continue
			}
			fs = m.FieldsAt(Scope{})
		}
		val, miss, _ := w.quote(m, fs)
		if val == "" {
			if miss == "" {
				continue // e.g. an empty warnings list
			}
			r := w.why(miss)
			w.missing = append(w.missing, Missing{Measure: m.Key, Path: miss, Reason: r})
			if _, ok := byReason[r]; !ok {
				order = append(order, r)
			}
			byReason[r] = append(byReason[r], shortName(m.Name))
			continue
		}
		parts = append(parts, shortName(m.Name)+" "+val)
	}
	for _, r := range order {
		missing = append(missing, strings.Join(byReason[r], ", ")+": "+r)
	}
	if len(parts) == 0 && len(order) == 1 {
		missing = []string{order[0]}
	}
	return parts, missing
}

func shortName(n string) string {
	if i := strings.Index(n, " ("); i >= 0 {
		return n[:i]
	}
	return n
}

func (w *writer) modality() {
	if v, ok := w.doc.Lookup("quality.modality.is_fundus"); ok && v == false {
		w.put("The quality gate found that this is NOT a colour fundus photograph.")
	} else {
		w.put(w.pick("This is a colour fundus photograph, a picture of the back of the eye (retina, optic disc and vessels).",
			"It is a colour fundus photo: the retina photographed through the pupil."))
	}
	if val, _, _ := w.quote(w.b.reg.Measure("image_format"), w.b.reg.Measure("image_format").FieldsAt(Scope{})); val != "" {
		w.say("The file is %s.", val)
	}
	if fundus, ok := w.doc.Lookup("quality.modality.is_fundus"); ok {
		w.modalityVerdict(fundus == true)
	} else if r, ok := w.doc.Lookup("fov.radius_px"); ok {
		w.record("fov", "fov.radius_px", r, "px")
		w.say("The analysis found its round field of view (radius %s px), which is how it tells a fundus photo from other images; it does not read OCT scans or angiograms.", formatValue(r))
	}
	m := w.b.reg.Measure("calibration")
	if val, _, used := w.quote(m, m.FieldsAt(Scope{})); val != "" && len(used) > 1 {
		w.say("Calibration: %s.", val)
	} else {
		w.say("It is not calibrated: %s.", w.doc.String("calibration.note"))
	}
}

func (w *writer) overview() {
	w.put(w.pick("Here is what the analysis found.", "In brief:", "A summary of the analysis:"))
	for _, in := range []intent.Intent{intent.Disc, intent.Vessels, intent.Calibre, intent.Anatomy} {
		parts, reasons := w.summaries(in, Scope{})
		if len(parts) > 0 {
			w.say("%s: %s.", capitalize(topicNames[in]), strings.Join(parts, "; "))
		} else if len(reasons) > 0 {
			w.say("%s: not available (%s).", capitalize(topicNames[in]), reasons[0])
		}
	}
	if _, ok := w.doc.Lookup(lesionsPath); ok {
		w.lesionOverview()
	} else {
		w.say("%s.", capitalize(w.lesionsNotAssessed()))
	}
	if _, ok := w.doc.Lookup(diagnosesPath); ok {
		var parts []string
		for _, d := range w.b.reg.Diseases {
			if d.Finding != "" {
				if p := w.findingSummary(&d); p != "" {
					parts = append(parts, p)
				}
			}
		}
		if len(parts) > 0 {
			w.say("Screening judgements (experimental): %s.", strings.Join(parts, "; "))
		}
	} else {
		w.say("Disease judgements: none, because %s.", w.why(diagnosesPath))
	}
	if ws, ok := w.doc.Lookup("warnings"); ok {
		if arr, _ := ws.([]any); len(arr) > 0 {
			w.record("warnings", "warnings", ws, "")
			w.say("Warnings: %s.", formatValue(ws))
		}
	}
	w.put(notDiagnosis)
}

func (w *writer) explain(s intent.Slots) {
	key := s.Term
	var name, text, see string
	if m := w.b.reg.Measure(key); m != nil {
		name, text, see = m.Name, m.Explain, m.Key
	} else if t := w.b.term(key); t != nil {
		name, text, see = t.Name, t.Explain, t.See
	} else if l := w.b.lesion(key); l != nil {
		name, text = l.Plural, l.Explain
	} else if d := w.b.disease(key); d != nil {
		name, text = d.Name, d.Explain
	}
	if text == "" {
		w.say("Which term should I explain? For example “what does tortuosity mean?” or “what is zone B?”.")
		return
	}
	w.say(w.pick("%[1]s: %[2]s.", "%[1]s means %[2]s.", "In plain words, %[3]s: %[2]s."), capitalize(name), text, name)
	if m := w.b.reg.Measure(see); m != nil {
		sc := m.normalize(Scope{s.Tree, s.Zone})
		if fs := m.FieldsAt(sc); fs != nil {
			if val, _, _ := w.quote(m, fs); val != "" {
				w.say("In this photo the %s%s is %s.", m.Name, scopeText(sc), val)
			}
		}
		if m.Normal != "" {
			w.say("Usual values: %s.", m.Normal)
		}
	}
}

func (w *writer) nextSteps() {
	w.say("I can't give medical advice: this analysis is a research measurement, not a diagnosis, and RetinalGPT is not a medical device.")
	if flags := w.flags(); len(flags) > 0 {
		w.say("Points worth showing an optometrist or ophthalmologist: %s.", strings.Join(flags, "; "))
	} else {
		w.say("None of the measures it made crossed a published warning threshold.")
	}
	var gaps []string
	if _, ok := w.doc.Lookup(lesionsPath); !ok {
		gaps = append(gaps, w.lesionsNotAssessed())
	} else {
		gaps = append(gaps, "its lesion findings are experimental and it does not detect microaneurysms")
	}
	if _, ok := w.doc.Lookup(diagnosesPath); !ok {
		gaps = append(gaps, "diseases were not judged ("+w.why(diagnosesPath)+")")
	} else {
		var pos []string
		for _, d := range w.b.reg.Diseases {
			if d.Finding == "" || d.Finding == "abnormal" {
				continue
			}
			if v, ok := w.doc.Lookup(findingPath(d.Finding) + ".positive"); ok && v == true {
				w.record(d.Key, findingPath(d.Finding)+".positive", v, "")
				pos = append(pos, d.Name)
			}
		}
		if len(pos) > 0 {
			w.say("The experimental screening flags %s: ask about it for the evidence, and have it checked.", strings.Join(pos, ", "))
		}
		gaps = append(gaps, "its disease judgements are an experimental screening aid")
	}
	if len(gaps) > 0 {
		w.say("It cannot rule anything out: %s.", strings.Join(gaps, ", and "))
	}
	w.say("For a routine check, share the report with an eye-care professional; if you have sudden vision loss, flashes, a shower of new floaters or a curtain over your vision, seek care the same day.")
}

func mustLookup(d *Document, p string) any {
	v, _ := d.Lookup(p)
	return v
}

func (b *Builtin) term(key string) *Term {
	for i := range b.reg.Terms {
		if b.reg.Terms[i].Key == key {
			return &b.reg.Terms[i]
		}
	}
	return nil
}

func (b *Builtin) lesion(key string) *Lesion {
	for i := range b.reg.Lesions {
		if b.reg.Lesions[i].Key == key {
			return &b.reg.Lesions[i]
		}
	}
	return nil
}

func (b *Builtin) disease(key string) *Disease {
	for i := range b.reg.Diseases {
		if b.reg.Diseases[i].Key == key {
			return &b.reg.Diseases[i]
		}
	}
	return nil
}

// disease answers from the Report's diagnoses section, through the
// registry (Disease.Finding and the findingFields/evidenceFields paths):
// the judgement, its probability against its threshold, the evidence it
// rests on and the section's caveat; a disease the Report does not judge
// gets the reason (not judged, not assessed, or not a finding this
// analysis makes) and the measures that bear on it.
func (w *writer) disease(s intent.Slots) {
	d := w.b.disease(s.Disease)
	_, judged := w.doc.Lookup(diagnosesPath)
	if d == nil {
		if !judged {
			why := w.why(diagnosesPath)
			w.missing = append(w.missing, Missing{Measure: "diagnoses", Path: diagnosesPath, Reason: why})
			w.say("I can't name a disease: %s, so diseases are not assessed in this report.", why)
		} else {
			w.put(w.pick("The analysis's screening judgements:", "What the analysis judged:", "Disease judgements in the report:"))
			var parts []string
			for _, dd := range w.b.reg.Diseases {
				if dd.Finding == "" {
					continue
				}
				if p := w.findingSummary(&dd); p != "" {
					parts = append(parts, p)
				}
			}
			w.say("%s.", strings.Join(parts, "; "))
			w.diagnosesCaveat()
		}
		if flags := w.flags(); len(flags) > 0 {
			w.say("Of what it measured, these deserve a professional's look: %s.", strings.Join(flags, "; "))
		}
		w.put(notDiagnosis)
		return
	}
	switch {
	case d.Finding == "":
		w.say(w.pick("The analysis does not assess %[1]s.", "RetinalGPT does not judge %[1]s.", "There is no assessment of %[1]s in this analysis."), d.Name)
	case !judged:
		why := w.why(diagnosesPath)
		w.missing = append(w.missing, Missing{Measure: d.Key, Path: findingPath(d.Finding), Reason: why})
		w.say(w.pick("%[1]s was not assessed: %[2]s.", "I can't tell you about %[3]s: %[2]s.", "The report has no judgement of %[3]s, because %[2]s."), capitalize(d.Name), why, d.Name)
	default:
		if _, ok := w.doc.Lookup(findingPath(d.Finding)); ok {
			w.finding(d, s.Aspect)
			w.diagnosesCaveat()
			w.put(notDiagnosis)
			return
		}
		why := w.doc.String(notJudgedPath(d.Finding))
		if why != "" {
			w.record(d.Key, notJudgedPath(d.Finding), why, "")
		} else {
			why = "the report does not say why"
		}
		w.missing = append(w.missing, Missing{Measure: d.Key, Path: findingPath(d.Finding), Reason: why})
		w.say("%s was not judged for this photo: %s.", capitalize(d.Name), why)
	}
	var rel []string
	for _, k := range d.Related {
		m := w.b.reg.Measure(k)
		if m == nil {
			continue
		}
		if val, _, _ := w.quote(m, m.FieldsAt(Scope{})); val != "" {
			rel = append(rel, m.Name+" "+val)
		}
	}
	if len(rel) > 0 {
		w.say("What it does measure that bears on it: %s.", strings.Join(rel, "; "))
		for _, k := range d.Related {
			if m := w.b.reg.Measure(k); m != nil && m.Normal != "" {
				w.say("For reference, %s.", m.Normal)
			}
		}
	}
	w.put(notDiagnosis)
}

// fieldOf reads one of a finding's fields and records it as grounded.
func (w *writer) fieldOf(d *Disease, field string) (any, bool) {
	p := findingPath(d.Finding) + "." + field
	v, ok := w.doc.Lookup(p)
	if ok {
		w.record(d.Key, p, v, "")
	}
	return v, ok
}

// findingSummary is one finding in a line: "diabetic retinopathy:
// moderate NPDR (flagged, probability 0.61)", or its reason when not judged.
func (w *writer) findingSummary(d *Disease) string {
	if _, ok := w.doc.Lookup(findingPath(d.Finding)); !ok {
		if why := w.doc.String(notJudgedPath(d.Finding)); why != "" {
			w.record(d.Key, notJudgedPath(d.Finding), why, "")
			return d.Name + ": not judged (" + why + ")"
		}
		return ""
	}
	label, _ := w.fieldOf(d, "label")
	pos, _ := w.fieldOf(d, "positive")
	prob, _ := w.fieldOf(d, "probability")
	flag := "below its threshold"
	if pos == true {
		flag = "flagged"
	}
	return fmt.Sprintf("%s: %s (%s, probability %s)", d.Name, formatValue(label), flag, formatValue(prob))
}

// finding says one judgement in full: label and grade on its scale, the
// probability against the threshold, and the evidence ("why?" and "tell me
// more" get every item; otherwise the first four).
func (w *writer) finding(d *Disease, aspect string) {
	label, _ := w.fieldOf(d, "label")
	grade, _ := w.fieldOf(d, "grade")
	scale, _ := w.fieldOf(d, "scale")
	prob, _ := w.fieldOf(d, "probability")
	thr, _ := w.fieldOf(d, "threshold")
	pos, _ := w.fieldOf(d, "positive")
	if aspect != "why" {
		w.say(w.pick("The analysis judges %[1]s as %[2]s (grade %[3]s on the %[4]s scale).", "%[5]s: %[2]s, grade %[3]s on the %[4]s scale.", "For %[1]s the report says %[2]s (%[4]s grade %[3]s)."),
			d.Name, formatValue(label), formatValue(grade), formatValue(scale), capitalize(d.Name))
	}
	verdict := "below the threshold, so it is not flagged"
	if pos == true {
		verdict = "at or above the threshold, so it is flagged"
	}
	w.say("The probability of %s is %s against a decision threshold of %s: %s.", d.Positive, formatValue(prob), formatValue(thr), verdict)
	ev, _ := w.doc.Lookup(findingPath(d.Finding) + ".evidence")
	items, _ := ev.([]any)
	limit := 4
	if aspect == "why" || aspect == "more" {
		limit = len(items)
	}
	var texts []string
	for i := range items {
		if i >= limit {
			break
		}
		p := fmt.Sprintf("%s.evidence[%d].text", findingPath(d.Finding), i)
		if t := w.doc.String(p); t != "" {
			w.record(d.Key, p, t, "")
			texts = append(texts, t)
		}
	}
	if len(texts) > 0 {
		lead := "It rests on"
		if aspect == "why" {
			lead = "Why: it rests on"
		}
		w.say("%s: %s.", lead, strings.Join(texts, "; "))
		if len(items) > limit {
			n := len(items) - limit
			w.say("(%s more %s of evidence: ask “why?”.)", countWord(n), map[bool]string{true: "item", false: "items"}[n == 1])
		}
	}
	if d.Scale != "" && aspect != "why" {
		w.say("Scale: %s.", d.Scale)
	}
}

// diagnosesCaveat says the section's own caveat and the sources it used.
func (w *writer) diagnosesCaveat() {
	if src, ok := w.doc.Lookup(diagnosesSourcesPath); ok {
		if arr, _ := src.([]any); len(arr) > 0 {
			w.record("diagnoses", diagnosesSourcesPath, src, "")
			w.say("Evidence sources: %s.", formatValue(src))
		}
	}
	if c := w.doc.String(diagnosesCaveatPath); c != "" {
		w.record("diagnoses", diagnosesCaveatPath, c, "")
		w.put(c)
	}
}

// flags are the measures past a published warning threshold, worded;
// each one's value is recorded as grounding the answer that quotes it.
func (w *writer) flags() []string {
	var out []string
	for i := range w.b.reg.Measures {
		m := &w.b.reg.Measures[i]
		if f := w.flag(m); f != "" {
			out = append(out, f)
			p := m.FieldsAt(Scope{})[0].Path
			w.values = append(w.values, Value{Measure: m.Key, Path: p, Value: mustLookup(w.doc, p)})
		}
	}
	return out
}

var countWords = []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}

func countWord(n int) string {
	if n < len(countWords) {
		return countWords[n]
	}
	return strconv.Itoa(n)
}

// lesions answers from the Report's lesion section: per type the count,
// where the objects are (quadrant, distance from the fovea in disc
// diameters) and RetinalGPT's boxes, always with the caveat; or says that
// lesions were not assessed, and how to assess them.
func (w *writer) lesions(s intent.Slots) {
	l := w.b.lesion(s.Lesion)
	what := "lesions"
	if l != nil {
		what = l.Plural
	}
	if _, ok := w.doc.Lookup(lesionsPath); !ok {
		why := w.why(lesionsPath)
		w.missing = append(w.missing, Missing{Measure: "lesions", Path: lesionsPath, Reason: why})
		w.say(w.pick("I can't tell you about %[1]s: %[2]s, so the report has no lesion findings.", "There are no lesion findings to report on %[1]s, because %[2]s."), what, why)
		w.say("Please don't read that as “none found”. To assess them, analyse the photo with --lesions.")
		w.put(lesionCaution)
		if l != nil {
			w.say("(%s: %s.)", capitalize(l.Plural), l.Explain)
		}
		return
	}
	if l != nil && l.Code == "" {
		w.say("The lesion stage does not look for %s, so the report says nothing about them.", l.Plural)
		w.lesionCaveat()
		return
	}
	var codes []string
	for _, lt := range w.b.reg.Lesions {
		if lt.Code != "" && (l == nil || lt.Key == l.Key) {
			codes = append(codes, lt.Code)
		}
	}
	w.put(w.pick("The experimental lesion stage reports:", "From the (experimental) lesion model:", "Lesion findings (experimental):"))
	for _, c := range codes {
		w.lesionType(c, l != nil)
	}
	w.lesionCaveat()
}

// lesionsNotAssessed says why the Report has no lesion section, and how to
// get one.
func (w *writer) lesionsNotAssessed() string {
	why := w.why(lesionsPath)
	if !strings.Contains(why, "--lesions") {
		why += " (the lesion stage is opt-in and experimental: run with --lesions)"
	}
	return why
}

// lesionCaveat quotes the Report's caveat (the model's own figures), or
// the fixed one.
func (w *writer) lesionCaveat() {
	if c := w.doc.String(lesionCaveatPath); c != "" {
		w.record("lesions", lesionCaveatPath, c, "")
		w.put(c)
		return
	}
	w.put(lesionCaution)
}

// lesionNames are a type's singular and plural names, from the registry.
func (w *writer) lesionNames(code string) (string, string) {
	for _, l := range w.b.reg.Lesions {
		if l.Code == code {
			return l.Name, l.Plural
		}
	}
	return code, code
}

// lesionType describes one type: count, where, boxes. asked: the question
// named this type (all boxes, not the first three).
func (w *writer) lesionType(code string, asked bool) {
	base := lesionTypePath(code)
	one, many := w.lesionNames(code)
	if det, ok := w.doc.Lookup(base + ".detected_by_model"); ok && det == false {
		w.record(code, base+".detected_by_model", det, "")
		aupr := ""
		if v, ok := w.doc.Lookup(base + ".cv_aupr"); ok {
			w.record(code, base+".cv_aupr", v, "")
			aupr = fmt.Sprintf(" (cross-validated AUPR %s)", formatValue(v))
		}
		w.say("%s: not detected by this model%s, so its count says nothing; don't read it as “none”.", capitalize(many), aupr)
		return
	}
	n, ok := w.num(base + ".count")
	if !ok {
		w.say("%s: not in the report.", capitalize(many))
		return
	}
	w.record(code, base+".count", n, "")
	count := int(n)
	if count == 0 {
		w.say("No %s found.", many)
		return
	}
	name := many
	if count == 1 {
		name = one
	}
	// Few: each object's place; many: counts per quadrant.
	if count <= 3 {
		var places []string
		for i := range count {
			places = append(places, w.lesionPlace(fmt.Sprintf("%s.objects[%d]", base, i)))
		}
		w.say("%s %s: %s.", capitalize(countWord(count)), name, strings.Join(places, "; "))
	} else {
		var parts []string
		for _, q := range lesionQuadrants {
			p := base + ".quadrants." + q.Field
			if v, ok := w.num(p); ok && v > 0 {
				w.record(code, p, v, "")
				parts = append(parts, fmt.Sprintf("%s %s", formatValue(v), q.Words))
			}
		}
		if v, ok := w.num(base + ".quadrants.unknown"); ok && v > 0 {
			w.record(code, base+".quadrants.unknown", v, "")
			parts = append(parts, fmt.Sprintf("%s in no known quadrant", formatValue(v)))
		}
		near := ""
		if v, ok := w.num(base + ".min_fovea_distance_dd"); ok {
			w.record(code, base+".min_fovea_distance_dd", v, "disc diameters")
			near = fmt.Sprintf("; the nearest %s disc diameters from the fovea", formatValue(v))
			if v == 0 {
				near = "; one reaches the fovea centre"
			}
		}
		w.say("%s %s: %s%s.", capitalize(countWord(count)), name, strings.Join(parts, ", "), near)
	}
	boxes, _ := w.doc.Lookup(base + ".boxes")
	arr, _ := boxes.([]any)
	if len(arr) == 0 {
		return
	}
	limit := len(arr)
	if !asked {
		limit = min(limit, 3)
	}
	var bs []string
	for i := range limit {
		p := fmt.Sprintf("%s.boxes[%d].box", base, i)
		v, ok := w.doc.Lookup(p)
		if !ok {
			continue
		}
		w.record(code, p, v, "")
		bs = append(bs, "["+strings.Join(strings.Split(formatValue(v), ", "), ", ")+"]")
	}
	more := ""
	if limit < len(arr) {
		more = "; more in the report"
	}
	w.say("Boxes ([x_min, y_min, x_max, y_max], normalized to the image): %s%s.", strings.Join(bs, "; "), more)
}

// lesionPlace is one object's quadrant and distance from the fovea.
func (w *writer) lesionPlace(obj string) string {
	var s []string
	if q := w.doc.String(obj + ".quadrant"); q != "" {
		w.record("lesion", obj+".quadrant", q, "")
		if q == "unknown" {
			s = append(s, "in an unknown quadrant")
		} else {
			s = append(s, "in the "+strings.ReplaceAll(q, "_", " ")+" quadrant")
		}
	}
	if v, ok := w.num(obj + ".fovea_distance_dd"); ok {
		w.record("lesion", obj+".fovea_distance_dd", v, "disc diameters")
		s = append(s, formatValue(v)+" disc diameters from the fovea")
	}
	if len(s) == 0 {
		return "at an unknown place"
	}
	return strings.Join(s, ", ")
}

// lesionOverview is the summary's lesion sentence.
func (w *writer) lesionOverview() {
	var parts, blind []string
	for _, lt := range w.b.reg.Lesions {
		if lt.Code == "" {
			continue
		}
		base := lesionTypePath(lt.Code)
		if det, ok := w.doc.Lookup(base + ".detected_by_model"); ok && det == false {
			blind = append(blind, lt.Plural)
			continue
		}
		if n, ok := w.num(base + ".count"); ok {
			w.record(lt.Code, base+".count", n, "")
			name := lt.Plural
			if n == 1 {
				name = lt.Name
			}
			parts = append(parts, countWord(int(n))+" "+name)
		}
	}
	s := "Lesions (experimental): " + strings.Join(parts, ", ")
	if len(blind) > 0 {
		s += "; " + strings.Join(blind, " and ") + " not detected by this model"
	}
	w.say("%s.", s)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// qualityKey is the registry's quality grade, answered by quality().
const qualityKey = "quality_grade"

// quality answers "is the photo good enough?": the gate's grade, its
// reasons and probabilities, and what the grade means for the
// measurements; interpret adds the caveat that it is not a diagnosis.
func (w *writer) quality(interpret bool) {
	m := w.b.reg.Measure(qualityKey)
	g, ok := w.doc.Lookup("quality.grade")
	if !ok {
		reason := w.why("quality.grade")
		w.missing = append(w.missing, Missing{Measure: m.Key, Path: "quality.grade", Reason: reason})
		w.say("I can't say how good the photo is: %s.", reason)
		return
	}
	w.record(m.Key, "quality.grade", g, "")
	grade := formatValue(g)
	if v, ok := w.doc.Lookup("quality.modality.is_fundus"); ok && v == false {
		w.modalityVerdict(false)
	}
	w.say(w.pick("The quality gate graded this photo %s.", "Image quality: %s.", "The photo's quality grade is %s."), grade)
	if rs, ok := w.doc.Lookup("quality.reasons"); ok {
		if arr, _ := rs.([]any); len(arr) > 0 {
			w.record(m.Key, "quality.reasons", rs, "")
			w.say("Reasons: %s.", joinAny(arr, "; "))
		}
	}
	var ps []string
	for _, f := range m.Confidence[:3] {
		if v, ok := w.doc.Lookup(f.Path); ok {
			w.record(m.Key, f.Path, v, "")
			ps = append(ps, f.Label+" "+formatValue(v))
		}
	}
	if len(ps) > 0 {
		// No counts or limits of the model's own in the wording: every
		// number an answer says must be in the Report (the calibration set
		// is described in docs/quality.md, not quoted here).
		w.say("The grading model gives %s (calibrated on EyeQ-graded EyePACS photos, before the hard limits on each criterion).", strings.Join(ps, ", "))
	}
	switch grade {
	case "good":
		w.say("So the photo is good enough: every structure should be gradable, and the measurements are as reliable as the models themselves allow.")
	case "usable":
		w.say("So it is usable: gradable with some loss, and the measures of the structures the reasons name may be less accurate than on a good photo.")
	case "reject":
		w.say("So it is not good enough for reliable measurements: it was still analysed, but treat every number from it with caution and retake the photo if you can. Haze or blur can come from the eye itself (a cataract, for instance) as well as from the camera.")
	}
	if interpret {
		w.put(notDiagnosis)
	}
}

// modalityVerdict says what the gate decided about the image's modality,
// with its score and, for a refusal, the reasons.
func (w *writer) modalityVerdict(fundus bool) {
	sc, ok := w.doc.Lookup("quality.modality.score")
	if ok {
		w.record("fundus_check", "quality.modality.score", sc, "")
	}
	if fundus {
		if ok {
			w.say("The quality gate checked that it is one (modality score %s, above the gate's limit): a round field of view on a dark mask, retinal colours, photographic texture and a vessel network. It does not read OCT scans or angiograms.", formatValue(sc))
		}
		return
	}
	why := ""
	if rs, ok := w.doc.Lookup("quality.modality.reasons"); ok {
		if arr, _ := rs.([]any); len(arr) > 0 {
			w.record("fundus_check", "quality.modality.reasons", rs, "")
			why = " (" + joinAny(arr, "; ") + ")"
		}
	}
	w.say("The gate judged it not a colour fundus photograph%s; it was analysed only because the gate was turned off, so none of its measures describes a retina.", why)
}

func joinAny(arr []any, sep string) string {
	parts := make([]string, len(arr))
	for i, e := range arr {
		parts[i] = formatValue(e)
	}
	return strings.Join(parts, sep)
}
