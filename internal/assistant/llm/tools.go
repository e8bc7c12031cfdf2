package llm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

type tool struct {
	Type     string  `json:"type"`
	Function toolDef `json:"function"`
}

type toolDef struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

func str(desc string, enum ...string) map[string]any {
	p := map[string]any{"type": "string", "description": desc}
	if len(enum) > 0 {
		p["enum"] = enum
	}
	return p
}

func object(props map[string]any, required ...string) map[string]any {
	return map[string]any{"type": "object", "properties": props, "required": required}
}

// toolDefs are the tools the model gets; lookup's measures are the
// registry's keys, so a new registry entry is a new tool argument.
func toolDefs(reg *assistant.Registry) []tool {
	keys := make([]string, len(reg.Measures))
	for i, m := range reg.Measures {
		keys[i] = m.Key
	}
	return []tool{
		{"function", toolDef{"lookup", "Look up one measure of the analysed photo: its values with units and Report paths, or why it is missing, and its usual range where one is published.",
			object(map[string]any{
				"measure": str("the measure's key", keys...),
				"tree":    str("vessel tree, for vascular measures (default all)", "all", "artery", "vein"),
				"zone":    str("zone around the disc, for vascular measures (default: the measure's usual zone)", "whole", "B", "C"),
			}, "measure")}},
		{"function", toolDef{"get_report_section", "Return a section of the analysis Report as JSON, e.g. quality, disc, vessels.measures, anatomy, lesions, diagnoses (disease screening judgements with their evidence), calibration, fov, image. Dotted paths and [key=value] selectors work: vessels.zones[zone=B], diagnoses.findings[key=dr].",
			object(map[string]any{"section": str("a top-level section or a dotted path")}, "section")}},
		{"function", toolDef{"explain", "Explain a term or measure in plain words (what it is, its usual range).",
			object(map[string]any{"term": str("the term, e.g. CDR, tortuosity, zone B, haemorrhage")}, "term")}},
	}
}

// leaf is one value a tool returned, with its Report path.
type leaf struct {
	path string
	val  any
	unit string
	name string
}

// toolkit runs the tools for one turn and remembers what they returned.
type toolkit struct {
	reg     *assistant.Registry
	doc     *assistant.Document
	leaves  []leaf
	missing []assistant.Missing
}

// maxSection bounds one get_report_section result.
const maxSection = 24 << 10

// call runs a tool and returns its JSON result; a bad call is an error
// result the model can correct, not a failure of the turn.
func (tk *toolkit) call(name, args string) string {
	var raw map[string]any
	if strings.TrimSpace(args) == "" {
		args = "{}"
	}
	if err := json.Unmarshal([]byte(args), &raw); err != nil {
		return errResult("arguments are not a JSON object: %v", err)
	}
	a := map[string]string{}
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			a[k] = x
		case nil:
		default:
			b, _ := json.Marshal(x)
			a[k] = string(b)
		}
	}
	var out any
	switch name {
	case "lookup":
		out = tk.lookup(a["measure"], a["tree"], a["zone"])
	case "get_report_section":
		out = tk.section(a["section"])
	case "explain":
		out = tk.explain(a["term"])
	default:
		return errResult("unknown tool %q (use lookup, get_report_section or explain)", name)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return errResult("%v", err)
	}
	return string(b)
}

func errResult(format string, args ...any) string {
	b, _ := json.Marshal(map[string]string{"error": fmt.Sprintf(format, args...)})
	return string(b)
}

func (tk *toolkit) findMeasure(key string) *assistant.Measure {
	if m := tk.reg.Measure(key); m != nil {
		return m
	}
	k := strings.ToLower(strings.TrimSpace(key))
	for i := range tk.reg.Measures {
		m := &tk.reg.Measures[i]
		if strings.ToLower(m.Name) == k {
			return m
		}
		for _, p := range m.Phrases {
			if p == k {
				return m
			}
		}
	}
	return nil
}

func (tk *toolkit) lookup(key, tree, zone string) any {
	m := tk.findMeasure(key)
	if m == nil {
		return map[string]string{"error": fmt.Sprintf("unknown measure %q; use one of the lookup tool's measure keys", key)}
	}
	sc := assistant.Scope{Tree: tree, Zone: zone}
	fields := m.FieldsAt(sc)
	if fields == nil {
		var at []string
		for _, s := range m.Scopes() {
			at = append(at, s.Tree+"/"+s.Zone)
		}
		return map[string]any{"error": fmt.Sprintf("%s is not defined for tree %q zone %q", m.Name, tree, zone), "defined_at": at}
	}
	type val struct {
		Label string `json:"label,omitempty"`
		Value any    `json:"value"`
		Unit  string `json:"unit,omitempty"`
		Path  string `json:"path"`
	}
	type miss struct {
		Path   string `json:"path"`
		Reason string `json:"reason"`
	}
	res := struct {
		Measure string `json:"measure"`
		Name    string `json:"name"`
		Values  []val  `json:"values,omitempty"`
		Missing []miss `json:"missing,omitempty"`
		Normal  string `json:"usual_range,omitempty"`
		Flag    string `json:"flag,omitempty"`
	}{Measure: m.Key, Name: m.Name, Normal: m.Normal}
	for _, f := range append(append([]assistant.Field{}, fields...), m.Confidence...) {
		label := f.Label
		if len(m.Confidence) > 0 && !contains(fields, f) {
			label = "confidence"
		}
		v, ok := tk.doc.Lookup(f.Path)
		if !ok {
			if f.Optional {
				res.Values = append(res.Values, val{label, "none", f.Unit, f.Path})
				continue
			}
			why := tk.doc.Why(f.Path)
			res.Missing = append(res.Missing, miss{f.Path, why})
			tk.missing = append(tk.missing, assistant.Missing{Measure: m.Key, Path: f.Path, Reason: why})
			continue
		}
		res.Values = append(res.Values, val{label, v, f.Unit, f.Path})
		tk.leaves = append(tk.leaves, leaf{path: f.Path, val: v, unit: f.Unit, name: m.Key})
		if x, ok := v.(float64); ok && m.Flag != nil && len(res.Values) == 1 &&
			((m.Flag.Above != nil && x > *m.Flag.Above) || (m.Flag.Below != nil && x < *m.Flag.Below)) {
			res.Flag = m.Flag.Say
		} else if s, ok := v.(string); ok && m.Flag != nil && m.Flag.Equals != "" && s == m.Flag.Equals {
			res.Flag = m.Flag.Say
		}
	}
	return res
}

func contains(fs []assistant.Field, f assistant.Field) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}

var pathRE = regexp.MustCompile(`^[A-Za-z0-9_]+(\[[A-Za-z0-9_=.]+\])?(\.[A-Za-z0-9_]+(\[[A-Za-z0-9_=.]+\])?)*$`)

func (tk *toolkit) section(path string) any {
	path = strings.TrimSpace(path)
	if !pathRE.MatchString(path) {
		return map[string]string{"error": fmt.Sprintf("%q is not a Report path such as disc or vessels.zones[zone=B]", path)}
	}
	v, ok := tk.doc.Lookup(path)
	if !ok {
		why := tk.doc.Why(path)
		tk.missing = append(tk.missing, assistant.Missing{Path: path, Reason: why})
		return map[string]string{"missing": path, "reason": why}
	}
	b, _ := json.Marshal(v)
	if len(b) > maxSection {
		var keys []string
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				keys = append(keys, path+"."+k)
			}
			sort.Strings(keys)
		}
		return map[string]any{"error": fmt.Sprintf("%s is too large (%d bytes); ask for a part of it", path, len(b)), "parts": keys}
	}
	tk.walk(path, v)
	return map[string]any{"section": path, "data": v}
}

// walk records the leaves under path.
func (tk *toolkit) walk(path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			tk.walk(path+"."+k, c)
		}
	case []any:
		for i, c := range x {
			tk.walk(fmt.Sprintf("%s[%d]", path, i), c)
		}
	case float64, string:
		tk.leaves = append(tk.leaves, leaf{path: path, val: x})
	}
}

func (tk *toolkit) explain(term string) any {
	t := strings.ToLower(strings.TrimSpace(term))
	type expl struct {
		Name    string `json:"name"`
		Explain string `json:"explain"`
		Normal  string `json:"usual_range,omitempty"`
	}
	match := func(key, name string, phrases []string) bool {
		if t == strings.ToLower(key) || t == strings.ToLower(name) {
			return true
		}
		for _, p := range phrases {
			if t == p {
				return true
			}
		}
		return false
	}
	for _, m := range tk.reg.Measures {
		if match(m.Key, m.Name, m.Phrases) {
			return expl{m.Name, m.Explain, m.Normal}
		}
	}
	for _, x := range tk.reg.Terms {
		if match(x.Key, x.Name, x.Phrases) {
			return expl{Name: x.Name, Explain: x.Explain}
		}
	}
	for _, x := range tk.reg.Lesions {
		if match(x.Key, x.Name, x.Phrases) {
			return expl{Name: x.Name, Explain: x.Explain}
		}
	}
	for _, x := range tk.reg.Diseases {
		if match(x.Key, x.Name, x.Phrases) {
			return expl{Name: x.Name, Explain: x.Explain}
		}
	}
	return map[string]string{"error": fmt.Sprintf("no explanation for %q in RetinalGPT's registry", term)}
}
