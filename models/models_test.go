package models

import (
	"fmt"
	"testing"
)

// TestLoadTestTimeOrientations: only 1, 2, 4 or 8 orientations (0: the
// default, 1) are accepted, so a bad sidecar fails at load, not in the
// segmenter.
func TestLoadTestTimeOrientations(t *testing.T) {
	for _, tc := range []struct {
		n  int
		ok bool
	}{{0, true}, {1, true}, {2, true}, {4, true}, {8, true}, {3, false}, {16, false}, {-1, false}} {
		meta := fmt.Sprintf(`{"name": "x", "test_time_orientations": %d}`, tc.n)
		_, err := load("x", []byte{1}, []byte(meta))
		if (err == nil) != tc.ok {
			t.Errorf("%d orientations: error %v, want ok %v", tc.n, err, tc.ok)
		}
	}
	m, err := AV()
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.TestTimeOrientations != 4 {
		t.Errorf("the A/V model runs in %d orientations; models/av.md measures 4", m.Meta.TestTimeOrientations)
	}
}
