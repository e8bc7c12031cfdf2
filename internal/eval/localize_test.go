package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenLandmarkSet(t *testing.T) {
	tests := []struct {
		name, csv string
		wantErr   string
		wantN     int
	}{
		{"ok", "image,dr_grade,od_x,od_y,fovea_x,fovea_y\na.jpg,2,10,20,30,40\nb.jpg,0,1,2,,\n", "", 2},
		{"missing column", "image,od_x,od_y\na.jpg,1,2\n", `no column "fovea_x"`, 0},
		{"bad number", "image,od_x,od_y,fovea_x,fovea_y\na.jpg,x,2,3,4\n", "labels.csv:2", 0},
		{"no rows", "image,od_x,od_y,fovea_x,fovea_y\n", "no rows", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "labels.csv"), []byte(tc.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := OpenLandmarkSet(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.wantN {
				t.Fatalf("got %d samples, %v; want %d", len(got), err, tc.wantN)
			}
			if !got[0].HasDisc || got[0].Fovea.X != 30 || got[1].HasFovea {
				t.Errorf("parsed %+v", got)
			}
		})
	}
}
