package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// csvRow is one data row of a file read by readCSV. Line is its line in
// the file (the header is line 1), for error messages.
type csvRow struct {
	Line int
	rec  []string
	col  map[string]int
}

// Get returns the trimmed cell of the named column (lower case), or ""
// when the file has no such column.
func (r csvRow) Get(name string) string {
	i, ok := r.col[name]
	if !ok || i >= len(r.rec) {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

// Has reports whether the file has the named column.
func (r csvRow) Has(name string) bool {
	_, ok := r.col[name]
	return ok
}

// readCSV reads a label file with a header row. Column names match case-
// and space-insensitively; every name in need must be present. Errors name
// the file and, for a bad row, its line.
func readCSV(path string, need ...string) ([]csvRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty file")
		}
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("%s: no column %q (have %v)", path, n, head)
		}
	}
	var rows []csvRow
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		rows = append(rows, csvRow{Line: line, rec: rec, col: col})
	}
}
