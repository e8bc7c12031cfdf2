package intent

import (
	"slices"
	"sort"
	"strings"
)

// Intent is what a question asks for.
type Intent string

// The intents. A measure question takes the intent its Vocabulary entry
// names (Vessels, Calibre, Disc, Anatomy, Quality or Modality).
const (
	Greeting   Intent = "greeting"     // hello, thanks, goodbye
	Help       Intent = "help"         // what can you do
	Modality   Intent = "modality"     // what kind of image, format, calibration
	Quality    Intent = "quality"      // is the photo usable: field of view, clipping, confidences
	Overview   Intent = "overview"     // summarize the findings
	Vessels    Intent = "vessels"      // a vascular measure, overall, per tree, per zone
	Calibre    Intent = "calibre"      // CRAE, CRVE, AVR
	Disc       Intent = "disc"         // optic disc and cup, CDR, rim, ISNT
	Anatomy    Intent = "anatomy"      // fovea, laterality, field, landmarks
	Lesions    Intent = "lesions"      // lesions and where they are
	Disease    Intent = "disease"      // diseases and grades
	Explain    Intent = "explain"      // what does a term mean
	Interpret  Intent = "interpret"    // is that normal / bad
	NextSteps  Intent = "next_steps"   // what to do next
	Location   Intent = "location"     // where (exactly)? with no subject: a follow-up
	FollowUp   Intent = "followup"     // a fragment that changes a slot: "and the veins?"
	OutOfScope Intent = "out_of_scope" // not about the photo
)

// All lists every intent, in a stable order (for confusion tables).
var All = []Intent{Greeting, Help, Modality, Quality, Overview, Vessels, Calibre, Disc, Anatomy,
	Lesions, Disease, Explain, Interpret, NextSteps, Location, FollowUp, OutOfScope}

// Slots are the particulars of a question. Empty means not said.
type Slots struct {
	Measure string `json:"measure,omitempty"` // a Vocabulary key of kind KindMeasure
	Tree    string `json:"tree,omitempty"`    // "artery", "vein" or "all"
	Zone    string `json:"zone,omitempty"`    // "B", "C" or "whole"
	Lesion  string `json:"lesion,omitempty"`  // a Vocabulary key of kind KindLesion
	Disease string `json:"disease,omitempty"` // a Vocabulary key of kind KindDisease
	Term    string `json:"term,omitempty"`    // a Vocabulary key of kind KindTerm (or a measure's, to explain it)
	// Aspect refines the intent: "where" (asked for a position), "more"
	// (asked for more detail), "hello", "thanks", "bye" (for Greeting).
	Aspect string `json:"aspect,omitempty"`
}

// Kind is what a Vocabulary entry names.
type Kind int

// Kinds of Vocabulary entries.
const (
	KindMeasure Kind = iota
	KindTerm
	KindLesion
	KindDisease
)

// Entry is one nameable thing: its key, kind, the intent a question about
// it has, and the phrases people use for it (any spelling; the recognizer
// normalizes them).
type Entry struct {
	Key     string
	Kind    Kind
	Intent  Intent
	Phrases []string
}

// Vocabulary is the caller's list of things that can be asked about.
type Vocabulary []Entry

// Result is a recognized question.
type Result struct {
	Intent Intent `json:"intent"`
	Slots  Slots  `json:"slots"`
	// Tokens are the normalized, corrected words; Concepts what they
	// matched (for debugging and tests).
	Tokens   []string `json:"-"`
	Concepts []string `json:"-"`
	// Rule is the intent the rules alone chose; Model the classifier's
	// intent and Confidence its probability (empty and 0 without a
	// model); Source is "model" when the classifier's intent was taken.
	Rule       Intent  `json:"-"`
	Model      Intent  `json:"-"`
	Confidence float64 `json:"-"`
	Source     string  `json:"-"`
	// SlotSource lists the kinds of slot the slot classifiers filled or
	// replaced (empty: the slots are the rules').
	SlotSource []string `json:"-"`
}

// Recognizer maps questions to intents. It is safe for concurrent use.
type Recognizer struct {
	phrases map[string][]phrase // by first token
	known   map[string]bool     // every word of every phrase, and common words
	byLen   map[int][]string    // known words by length, for correction
	entries map[string]Entry    // concept → entry
	model   *Model              // nil: the rules alone
	blend   Blend
	// The slot classifiers (nil: slots from the rules alone).
	slotModels *SlotModels
	slotBlend  SlotBlend
}

type phrase struct {
	toks     []string
	concepts []string
}

// New builds a Recognizer for a Vocabulary.
func New(v Vocabulary) *Recognizer {
	r := &Recognizer{phrases: map[string][]phrase{}, known: map[string]bool{}, byLen: map[int][]string{}, entries: map[string]Entry{}}
	for _, w := range strings.Fields(commonWords) {
		r.known[stem(w)] = true
	}
	add := func(text string, concepts ...string) {
		toks := tokenize(text)
		if len(toks) == 0 {
			return
		}
		for _, t := range toks {
			r.known[t] = true
		}
		// The same words in several tables mean all their concepts.
		ps := r.phrases[toks[0]]
		for i := range ps {
			if strings.Join(ps[i].toks, " ") == strings.Join(toks, " ") {
				for _, c := range concepts {
					if !slices.Contains(ps[i].concepts, c) {
						ps[i].concepts = append(ps[i].concepts, c)
					}
				}
				return
			}
		}
		r.phrases[toks[0]] = append(ps, phrase{toks, concepts})
	}
	for _, c := range cues {
		for _, p := range c.phrases {
			add(p, c.concepts...)
		}
	}
	prefix := map[Kind]string{KindMeasure: "m:", KindTerm: "t:", KindLesion: "l:", KindDisease: "d:"}
	for _, e := range v {
		c := prefix[e.Kind] + e.Key
		r.entries[c] = e
		add(e.Key, c)
		for _, p := range e.Phrases {
			add(p, c)
		}
	}
	for _, ps := range r.phrases {
		sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].toks) > len(ps[j].toks) })
	}
	for w := range r.known {
		r.byLen[len(w)] = append(r.byLen[len(w)], w)
	}
	for _, ws := range r.byLen {
		sort.Strings(ws)
	}
	return r
}

type match struct {
	concept    string
	start, end int
}

// Recognize reads one question: the rules, then, with a model (SetModel),
// the classifier where the Blend lets it decide, then, with slot models
// (SetSlotModels), the slot classifiers where the SlotBlend lets them.
func (r *Recognizer) Recognize(text string) Result {
	res := r.rules(text)
	if r.model != nil {
		res = r.blendWith(r.model, r.blend, res)
	}
	if r.slotModels != nil {
		res = r.fillSlots(r.slotModels, r.slotBlend, res)
	}
	return res
}

// Rules reads one question with the rules alone.
func (r *Recognizer) Rules(text string) Result { return r.rules(text) }

// Combine applies a model to a Rules result as Recognize would with it
// (for cross-validation).
func (r *Recognizer) Combine(res Result, m *Model, b Blend) Result { return r.blendWith(m, b, res) }

func (r *Recognizer) rules(text string) Result {
	toks := tokenize(text)
	for i, t := range toks {
		toks[i] = r.correct(t)
	}
	var ms []match
	for i := 0; i < len(toks); {
		n := 0
		for _, p := range r.phrases[toks[i]] {
			if hasPrefix(toks[i:], p.toks) {
				for _, c := range p.concepts {
					ms = append(ms, match{c, i, i + len(p.toks)})
				}
				n = len(p.toks)
				break
			}
		}
		if n == 0 {
			n = 1
		}
		i += n
	}
	res := Result{Tokens: toks}
	for _, m := range ms {
		res.Concepts = append(res.Concepts, m.concept)
	}
	res.Intent, res.Slots = r.decide(toks, ms)
	res.Rule = res.Intent
	return res
}

func hasPrefix(toks, p []string) bool {
	if len(toks) < len(p) {
		return false
	}
	for i := range p {
		if toks[i] != p[i] {
			return false
		}
	}
	return true
}

var rank = map[Kind]int{KindMeasure: 0, KindLesion: 1, KindDisease: 2, KindTerm: 3}

// decide applies the ordered rules to the matched concepts.
func (r *Recognizer) decide(toks []string, ms []match) (Intent, Slots) {
	var s Slots
	has := map[string]bool{}
	// A closing "too" means "also" ("in zone B too?"), not "too high".
	for i, m := range ms {
		if m.concept == "cue:interpret" && m.end == len(toks) && m.end-m.start == 1 && toks[m.start] == "too" {
			ms[i].concept = "cue:followup"
		}
	}
	var topic *Entry // the first measure, lesion, disease or term mentioned
	topicAt, topicEnd := -1, -1
	measureW := 0
	// Two clauses each naming a measure ("which eye is this and where is
	// the fovea"): the first clause's measure stands; the longest-phrase
	// rule applies within a clause.
	clause := clauses(toks)
	measureClause := -1
	for _, m := range ms {
		has[m.concept] = true
		switch {
		case strings.HasPrefix(m.concept, "tree:"):
			s.Tree = m.concept[5:]
		case strings.HasPrefix(m.concept, "zone:"):
			s.Zone = m.concept[5:]
		}
		e, ok := r.entries[m.concept]
		if !ok {
			continue
		}
		switch e.Kind {
		case KindMeasure:
			// Several measures named: the one named by the longest phrase
			// wins (ties: the first), and a bare quantity word ("thick",
			// "width") yields to any measure named by its noun: "how thick
			// is the neuroretinal rim?" is about the rim.
			if w := measureWeight(toks[m.start:m.end]); s.Measure == "" || w > measureW && (clause[m.start] == measureClause || measureW == 0) {
				if s.Measure != "" && topic != nil && topic.Kind == KindMeasure {
					e := e
					topic, topicAt, topicEnd = &e, m.start, m.end
				}
				s.Measure, measureW, measureClause = e.Key, w, clause[m.start]
			}
		case KindLesion:
			if s.Lesion == "" {
				s.Lesion = e.Key
			}
		case KindDisease:
			if s.Disease == "" {
				s.Disease = e.Key
			}
		case KindTerm:
			if s.Term == "" {
				s.Term = e.Key
			}
		}
		// The topic is the first measure, else the first lesion, disease
		// or term: "how confident is the CDR?" is about the CDR.
		if topic == nil || rank[e.Kind] < rank[topic.Kind] {
			e := e
			topic, topicAt, topicEnd = &e, m.start, m.end
		}
	}
	// "very clear" after an answer is thanks; about the photo, quality.
	if has["cue:ack"] {
		if anyOf(toks, onTopic) {
			has["cue:quality"] = true
		} else {
			has["cue:thanks"] = true
		}
	}
	// "are the arterioles narrower than the venules?": a comparison of the
	// two trees, with no measure named, is their ratio.
	if s.Measure == "" && has["tree:artery"] && has["tree:vein"] && anyOf(toks, comparison) {
		if _, ok := r.entries["m:avr"]; ok {
			s.Measure, s.Tree = "avr", "" // both trees, not one
		}
	}
	if has["cue:where"] {
		s.Aspect = "where"
	}
	if has["cue:more"] {
		s.Aspect = "more"
	}
	// "is this a normal eye photo or some kind of scan?" asks what the
	// photo is: "normal eye" there qualifies the photo, not the eye.
	if s.Disease == "abnormal" && has["cue:modality"] {
		s.Disease = ""
	}
	lesion := s.Lesion != "" || has["cue:lesion"]
	disease := s.Disease != "" || has["cue:disease"] && !has["cue:quality"]

	// "what is X" (no article) asks for a definition, "what is the X" a value.
	whatIs := false
	for _, m := range ms {
		if m.concept == "cue:whatis" && topic != nil && topicAt == m.end {
			whatIs = true
		}
		if m.concept == "cue:whatis" && m.end < len(toks) && (toks[m.end] == "zone") {
			whatIs = true
		}
	}
	// "how is X measured?" asks for the method.
	if slices.Contains(toks, "how") && (slices.Contains(toks, "measured") || slices.Contains(toks, "measure")) && topic != nil {
		has["cue:explain"] = true
	}
	// "the mean width" is a measure, not "what does it mean".
	for i, m := range ms {
		// also across a tree word: "mean artery diameter".
		next, at := i+1, m.end
		if next < len(ms) && strings.HasPrefix(ms[next].concept, "tree:") && ms[next].start == m.end {
			at = ms[next].end
			for next < len(ms) && ms[next].start == m.end {
				next++
			}
		}
		if m.concept == "cue:explain" && m.end-m.start == 1 && toks[m.start] == "mean" && next < len(ms) &&
			ms[next].start == at && strings.HasPrefix(ms[next].concept, "m:") {
			has["cue:explain"] = false
			for _, o := range ms {
				if o.concept == "cue:explain" && o.start != m.start {
					has["cue:explain"] = true
				}
			}
		}
	}
	// "what is the optic disc?" asks what it is; "what is the vessel
	// density?" asks for its value.
	for _, m := range ms {
		j := m.end
		if j < len(toks) && (toks[j] == "the" || toks[j] == "a" || toks[j] == "an") {
			j++
		}
		if m.concept == "cue:whatis" && topic != nil && topic.Kind == KindTerm && s.Measure == "" && topicAt == j {
			whatIs = true
		}
	}
	if has["cue:whatisa"] && !has["cue:interpret"] {
		whatIs = true
	}
	// "what is this ISNT thing?", "zone C is what?": a name followed by
	// "thing", or by "is what", asks what it is.
	if topic != nil && topicEnd >= 0 && (has["cue:whatis"] || has["cue:this"]) && topicEnd < len(toks) && toks[topicEnd] == "thing" {
		whatIs = true
	}
	if topic != nil && topicEnd >= 0 && topicEnd+1 < len(toks) && toks[topicEnd] == "is" && toks[topicEnd+1] == "what" && s.Measure == "" {
		whatIs = true
	}
	// "does that mean something is wrong?" asks for a judgement, not a
	// definition: a lone "mean" followed by more words, with a judgement
	// word, is Interpret ("what does a high CDR mean?" stays Explain).
	if has["cue:explain"] && has["cue:interpret"] {
		lone := true
		for _, m := range ms {
			if m.concept == "cue:explain" && !(m.end-m.start == 1 && (toks[m.start] == "mean" || toks[m.start] == "means") && m.end < len(toks)) {
				lone = false
			}
		}
		if lone {
			has["cue:explain"] = false
		}
	}
	explain := has["cue:explain"] || whatIs
	if explain {
		s.termFromNamed()
	}

	if has["cue:why"] {
		s.Aspect = "why"
	}
	// "is this eye normal?", "is my retina healthy?", "is everything ok?":
	// a judgement of the whole eye (no measure, lesion or disease named) is
	// the question the screening's "abnormal" finding answers.
	// A judgement of the photo ("is this a normal eye photo or a scan?",
	// "is the eye photo good?") is not one of the eye.
	if s.Measure == "" && s.Lesion == "" && s.Disease == "" && !has["cue:lesion"] && !has["cue:quality"] && !has["cue:modality"] &&
		anyOf(toks, wholeEye) && (anyOf(toks, normality) || has["cue:normality"] || slices.Contains(toks, "good") && !anyOf(toks, imageNoun)) {
		s.Disease = "abnormal"
	}

	// "what does my eye scan show (overall)?": "what … show" about the
	// photo, with nothing else named, asks for the overview.
	if topic == nil && !lesion && !disease && (s.Tree == "" || s.Tree == "all" && s.Zone == "whole") && showsWhat(toks) {
		has["cue:overview"] = true
	}
	// "what can you tell me about this fundus image?": about the photo
	// itself, the overview (about a topic, that topic; alone, help).
	tellAboutPhoto := has["cue:tellabout"] && (topic == nil || topic.Kind == KindTerm && topic.Intent == Modality) &&
		!lesion && !disease && s.Tree == "" && anyOf(toks, onTopic) &&
		!has["cue:vessel"] && !has["cue:disc"] && !has["cue:calibre"] && !has["cue:anatomy"]

	switch {
	case has["cue:oos"]:
		return OutOfScope, s
	case explain && has["cue:overview"] && topic == nil:
		return Overview, s
	case explain:
		return Explain, s
	case has["cue:next"]:
		return NextSteps, s
	case s.Disease != "" && s.Measure == "" && s.Lesion == "" && !lesion && (s.Disease == "abnormal" || has["cue:interpret"]):
		// "how bad is the retinopathy?": a disease's judgement is its
		// interpretation.
		return Disease, s
	case has["cue:interpret"] && !(topic == nil && (has["cue:quality"] || has["cue:modality"])):
		return Interpret, s
	case tellAboutPhoto:
		return Overview, s
	case lesion:
		return Lesions, s
	case disease:
		return Disease, s
	case topic != nil && topic.Kind == KindMeasure || topic != nil && topic.Kind == KindTerm && topic.Intent != FollowUp:
		return topic.Intent, s
	case has["cue:calibre"]:
		return Calibre, s
	case has["cue:disc"]:
		return Disc, s
	case has["cue:vessel"]:
		return Vessels, s
	case has["cue:anatomy"]:
		return Anatomy, s
	case has["cue:quality"]:
		return Quality, s
	case has["cue:modality"]:
		return Modality, s
	case has["cue:overview"]:
		return Overview, s
	case has["cue:why"] && s.Tree == "" && s.Zone == "":
		return FollowUp, s
	case (s.Tree != "" || s.Zone != "") && (has["cue:followup"] || len(toks) <= 3 && !anyOf(toks, measureNouns)):
		return FollowUp, s
	case s.Tree != "" || s.Zone != "":
		return Vessels, s
	case has["cue:where"]:
		return Location, s
	case has["cue:more"] || has["cue:followup"] && has["cue:this"]:
		return FollowUp, s
	case has["cue:help"]:
		return Help, s
	case has["cue:greet"]:
		s.Aspect = "hello"
		return Greeting, s
	case has["cue:thanks"]:
		s.Aspect = "thanks"
		return Greeting, s
	case has["cue:bye"]:
		s.Aspect = "bye"
		return Greeting, s
	}
	// Fallback: no cue matched, but the question is about the photo or
	// the eye ("what did the camera pick up in my eye?"). Rather than
	// refuse it as out of scope, answer with the overview and say it was
	// a guess (Aspect "guess"), so the reply can ask "did you mean…?".
	for _, t := range toks {
		if onTopic[t] {
			s.Aspect = "guess"
			return Overview, s
		}
	}
	return OutOfScope, s
}

// wholeEye and normality are the words of a judgement of the whole eye.
var (
	wholeEye  = map[string]bool{"eye": true, "eyes": true, "retina": true, "fundus": true}
	normality = map[string]bool{"normal": true, "abnormal": true, "healthy": true, "unhealthy": true, "ok": true, "okay": true, "fine": true, "wrong": true}
)

func anyOf(toks []string, set map[string]bool) bool {
	for _, t := range toks {
		if set[t] {
			return true
		}
	}
	return false
}

// imageNoun are words for the photo: "is this eye photo any good?" judges
// the photo, "is my eye good?" the eye.
var imageNoun = map[string]bool{"image": true, "photo": true, "picture": true, "pic": true, "scan": true, "photograph": true, "shot": true}

// comparison are words that compare two things.
var comparison = map[string]bool{"than": true, "compared": true, "versus": true, "vs": true, "relative": true, "ratio": true}

// measureNouns ask for numbers: "vein measurements?" is a question of its
// own, not a fragment.
var measureNouns = map[string]bool{"measurement": true, "measure": true, "stat": true, "statistic": true, "number": true,
	"value": true, "metric": true, "figure": true, "data": true}

// showsWhat reports a "what does (my/the/this) <photo words> show"
// question.
func showsWhat(toks []string) bool {
	i := slices.Index(toks, "show")
	if i < 0 || !slices.Contains(toks[:i], "what") {
		return false
	}
	w := slices.Index(toks, "what")
	for _, t := range toks[w+1 : i] {
		if !onTopic[t] && !showFiller[t] {
			return false
		}
	}
	return true
}

var showFiller = map[string]bool{"doe": true, "do": true, "did": true, "my": true, "the": true, "this": true, "your": true, "our": true, "photograph": true, "result": true, "overall": true}

// clauses numbers the clauses of a question: a new clause starts at "and"
// or "but" followed by a question word ("which eye is this and where is
// the fovea").
func clauses(toks []string) []int {
	c := make([]int, len(toks))
	n := 0
	for i := range toks {
		if i > 0 && (toks[i-1] == "and" || toks[i-1] == "but") && questionWord[toks[i]] {
			n++
		}
		c[i] = n
	}
	return c
}

var questionWord = map[string]bool{"what": true, "whats": true, "where": true, "wheres": true, "which": true, "how": true, "hows": true,
	"is": true, "are": true, "was": true, "were": true, "do": true, "doe": true, "did": true, "can": true, "could": true, "why": true, "when": true, "who": true}

// onTopic are words that put an otherwise unrecognized question about the
// photo rather than out of scope.
var onTopic = map[string]bool{"image": true, "photo": true, "picture": true, "pic": true, "scan": true, "eye": true,
	"retina": true, "retinal": true, "fundus": true, "ocular": true, "macula": true, "vision": true, "sight": true, "camera": true}

// genericMeasure are quantity words that name a measure only weakly:
// another measure named in the same question wins over them.
var genericMeasure = map[string]bool{"thick": true, "how thick": true, "thickness": true, "wide": true, "how wide": true,
	"width": true, "density": true, "dense": true, "size": true}

func measureWeight(toks []string) int {
	if genericMeasure[strings.Join(toks, " ")] {
		return 0
	}
	return len(toks)
}

// correct returns t, or the nearest known word when t is unknown and close
// enough to one: 1 edit for words of 4-6 letters, 2 for longer ones.
// Shorter words and numbers are left alone.
func (r *Recognizer) correct(t string) string {
	if r.known[t] || len(t) < 4 || isNumber(t) {
		return t
	}
	maxd := 1
	if len(t) >= 7 {
		maxd = 2
	}
	best, bestd := t, maxd+1
	for l := len(t) - maxd; l <= len(t)+maxd; l++ {
		for _, w := range r.byLen[l] {
			if len(w) < 4 {
				continue
			}
			// Nearest wins; among equals, one with the same first letter.
			d := editDistance(t, w, maxd+1)
			if d < bestd || d == bestd && d <= maxd && w[0] == t[0] && best[0] != t[0] {
				best, bestd = w, d
			}
		}
	}
	if bestd <= maxd {
		return best
	}
	return t
}

func isNumber(t string) bool {
	for _, c := range t {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// editDistance is the optimal-string-alignment distance (insertions,
// deletions, substitutions and adjacent transpositions), or a value ≥ limit
// as soon as it cannot be below limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	// Three rows; on the stack for words of up to 39 letters (every
	// question's unknown word is compared with hundreds of known ones).
	var buf [3 * 40]int
	var prev2, prev, cur []int
	if n := len(b) + 1; n <= 40 {
		prev2, prev, cur = buf[0:n], buf[40:40+n], buf[80:80+n]
	} else {
		prev2, prev, cur = make([]int, n), make([]int, n), make([]int, n)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// noStem are contractions that only look like plurals.
var noStem = map[string]bool{"whats": true, "thats": true, "wheres": true, "heres": true, "theres": true, "hows": true, "lets": true}

// tokenize lower-cases, drops punctuation and apostrophes ("what's" →
// "whats"), splits on anything else that is not a letter or digit and
// stems plurals.
func tokenize(s string) []string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("'", "", "’", "", "µ", "u", "é", "e", "æ", "ae", "œ", "oe").Replace(s)
	f := strings.FieldsFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	})
	for i, w := range f {
		f[i] = stem(w)
	}
	return f
}

// stem strips a plural ending: "arteries" → "artery", "vessels" →
// "vessel". It is applied to phrases and questions alike, so only
// consistency matters.
func stem(w string) string {
	switch {
	case noStem[w]:
		return w
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}

// termFromNamed sets an empty Term to the thing the question named, so
// that "what is X?" explains X: the measure, else the lesion, the
// disease, zone B or C, or the artery or vein tree.
func (s *Slots) termFromNamed() {
	if s.Term != "" {
		return
	}
	switch {
	case s.Measure != "":
		s.Term = s.Measure
	case s.Lesion != "":
		s.Term = s.Lesion
	case s.Disease != "":
		s.Term = s.Disease
	case s.Zone == "B" || s.Zone == "C":
		s.Term = "zone_" + strings.ToLower(s.Zone)
	case s.Tree == "artery" || s.Tree == "vein":
		s.Term = s.Tree
	}
}
