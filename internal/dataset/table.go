package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// table is a CSV label file read whole, with its header checked.
type table struct {
	file     string
	cols     map[string]int
	header   []string
	rows     []row
	problems []Problem
}

type row struct {
	line   int
	fields []string
	t      *table
}

// columns says which columns a label file must have, which it may have,
// and whether other columns are expected (extra reports nothing for them).
type columns struct {
	required []string
	optional []string
	// extra, when set, accepts further columns (e.g. RFMiD's disease
	// columns) and reports nothing for those it returns true.
	extra func(name string) bool
}

// readTable reads path as CSV. Unknown columns and rows with the wrong
// number of fields or broken quoting become problems (the row is skipped,
// and the problem says so); a missing required column is an error.
func readTable(path string, c columns) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	t := &table{file: path, cols: map[string]int{}}
	header, err := r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty file, no header", path)
		}
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	known := map[string]bool{}
	for _, n := range c.required {
		known[n] = true
	}
	for _, n := range c.optional {
		known[n] = true
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[i] = h
		if _, dup := t.cols[h]; dup {
			t.problem(1, "duplicate column %q; using the first", h)
			continue
		}
		t.cols[h] = i
		if !known[h] && (c.extra == nil || !c.extra(h)) {
			t.problem(1, "unknown column %q (kept in Source, not interpreted)", h)
		}
	}
	t.header = header
	for _, n := range c.required {
		if _, ok := t.cols[n]; !ok {
			return nil, fmt.Errorf("%s: %w %q", path, ErrMissingColumn, n)
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				t.problem(pe.StartLine, "malformed CSV (%v); row skipped", pe.Err)
				continue
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			t.problem(line, "%d fields, header has %d; row skipped", len(rec), len(header))
			continue
		}
		t.rows = append(t.rows, row{line: line, fields: rec, t: t})
	}
	return t, nil
}

func (t *table) problem(line int, format string, args ...any) {
	t.problems = append(t.problems, Problem{File: t.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// get returns the trimmed cell of column name, "" when the file lacks it.
func (r row) get(name string) string {
	i, ok := r.t.cols[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// source is the row as published: every column name to its cell text.
func (r row) source() map[string]string {
	m := make(map[string]string, len(r.fields))
	for i, h := range r.t.header {
		if i < len(r.fields) {
			if _, ok := m[h]; !ok {
				m[h] = r.fields[i]
			}
		}
	}
	return m
}

func (r row) problem(format string, args ...any) {
	r.t.problem(r.line, format, args...)
}

// grade parses an integer grade in [lo, hi] from column name. An empty
// cell gives nil; a malformed one gives nil and a problem.
func (r row) grade(name string, lo, hi int) *int {
	s := r.get(name)
	if s == "" {
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		// Some exports write grades as floats ("2.0").
		if f, ferr := strconv.ParseFloat(s, 64); ferr == nil && f == float64(int(f)) {
			v, err = int(f), nil
		}
	}
	if err != nil || v < lo || v > hi {
		r.problem("column %q: %q is not a grade %d-%d; label left out", name, s, lo, hi)
		return nil
	}
	return &v
}

// flag parses a 0/1 column. Empty gives nil.
func (r row) flag(name string) *bool {
	g := r.grade(name, 0, 1)
	if g == nil {
		return nil
	}
	return ptr(*g == 1)
}

// number parses a float column. Empty gives nil.
func (r row) number(name string) *float64 {
	s := r.get(name)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		r.problem("column %q: %q is not a number; value left out", name, s)
		return nil
	}
	return &v
}

// point combines two number columns; nil unless both parse.
func (r row) point(xcol, ycol string) *Point {
	x, y := r.number(xcol), r.number(ycol)
	if x == nil || y == nil {
		return nil
	}
	return &Point{X: *x, Y: *y}
}

// seen reports duplicates of key as a problem; true if key was new.
type seen map[string]int

// image is the row's image name, unless it is empty or was seen before
// (the row is then reported and skipped).
func (s seen) image(r row) (string, bool) {
	img := r.get("image")
	if img == "" {
		r.problem("empty image name; row skipped")
		return "", false
	}
	return img, s.add(r, img)
}

func (s seen) add(r row, key string) bool {
	if first, ok := s[key]; ok {
		r.problem("duplicate image %q (first on line %d); row skipped", key, first)
		return false
	}
	s[key] = r.line
	return true
}

// setDR fills DRGrade, DR and ReferableDR from an ICDR grade and the
// optional DME presence.
func setDR(l *Labels, grade *int) {
	if grade == nil {
		return
	}
	l.DRGrade = grade
	l.DR = ptr(*grade >= 1)
	ref := *grade >= 2
	if l.DME != nil && *l.DME {
		ref = true
	}
	l.ReferableDR = &ref
}
