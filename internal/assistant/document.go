package assistant

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Document is a Report as a generic JSON tree, addressed by paths such as
// "disc.cdr.vertical" or "vessels.zones[zone=B].measures.average_width_px"
// (a [key=value] selector picks the array element whose field key has
// that value; [N] picks element N). Reading the Report as JSON, not as Go
// fields, is what lets a registry entry name a field the assistant's code
// has never seen, including fields of newer Report versions.
type Document struct {
	root any
}

// NewDocument converts a Report.
func NewDocument(r *report.Report) (*Document, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("assistant: encode report: %w", err)
	}
	return ParseDocument(b)
}

// ParseDocument reads a Report's JSON (any schema version: unknown fields
// are kept, so registry entries for them work).
func ParseDocument(b []byte) (*Document, error) {
	var root any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("assistant: decode report: %w", err)
	}
	if _, ok := root.(map[string]any); !ok {
		return nil, fmt.Errorf("assistant: report is not a JSON object")
	}
	return &Document{root: root}, nil
}

// Lookup returns the value at path (float64, string, bool, []any or
// map[string]any) and whether it is there. JSON null counts as absent.
func (d *Document) Lookup(path string) (any, bool) {
	v := d.root
	for _, seg := range splitPath(path) {
		var ok bool
		if v, ok = step(v, seg); !ok || v == nil {
			return nil, false
		}
	}
	return v, true
}

// String returns the value at path if it is a string.
func (d *Document) String(path string) string {
	v, _ := d.Lookup(path)
	s, _ := v.(string)
	return s
}

// missingAt returns the longest prefix of path that is present and the
// first segment that is not ("" when the whole path is present).
func (d *Document) missingAt(path string) (present, missing string) {
	v := d.root
	segs := splitPath(path)
	for i, seg := range segs {
		next, ok := step(v, seg)
		if !ok || next == nil {
			return strings.Join(segs[:i], "."), seg
		}
		v = next
	}
	return path, ""
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

// step follows one segment: "name", "name[key=value]" or "name[N]".
func step(v any, seg string) (any, bool) {
	name, sel := seg, ""
	if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
		name, sel = seg[:i], seg[i+1:len(seg)-1]
	}
	if name != "" {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[name]; !ok {
			return nil, false
		}
	}
	if sel == "" {
		return v, true
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 0 || n >= len(arr) {
			return nil, false
		}
		return arr[n], true
	}
	key, want, ok := strings.Cut(sel, "=")
	if !ok {
		return nil, false
	}
	for _, el := range arr {
		if m, ok := el.(map[string]any); ok && fmt.Sprint(m[key]) == want {
			return m, true
		}
	}
	return nil, false
}

// formatValue writes a value as the Report holds it: numbers exactly as
// stored (the Report already rounds to the precision it supports), lists
// joined with commas.
func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}
