package fundus

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestCalibrate(t *testing.T) {
	fov := FOV{CX: 1000, CY: 700, Radius: 855}
	tests := []struct {
		name    string
		fov     FOV
		user    float64
		degrees float64
		want    CalibrationSource
		umPerPx float64
		noteHas string
	}{
		{name: "user wins", fov: fov, user: 6.5, degrees: 50, want: CalibrationUser, umPerPx: 6.5},
		{name: "fov angle", fov: fov, degrees: 50, want: CalibrationFOVAngle, umPerPx: 50 * 288 / 1710.0, noteHas: "Gullstrand"},
		{name: "45 degree DRIVE camera", fov: FOV{Radius: 268}, degrees: 45, want: CalibrationFOVAngle, umPerPx: 45 * 288 / 536.0, noteHas: "approximate"},
		{name: "nothing given", fov: fov, want: CalibrationUncalibrated, noteHas: "optic disc"},
		{name: "negative inputs", fov: fov, user: -1, degrees: -5, want: CalibrationUncalibrated},
		{name: "angle without a FOV", fov: FOV{}, degrees: 45, want: CalibrationUncalibrated},
		{name: "NaN user value", fov: fov, user: math.NaN(), degrees: 50, want: CalibrationFOVAngle, umPerPx: 50 * 288 / 1710.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Calibrate(tc.fov, tc.user, tc.degrees)
			if c.Source != tc.want {
				t.Fatalf("Source = %q, want %q (%+v)", c.Source, tc.want, c)
			}
			if math.Abs(c.UmPerPx-tc.umPerPx) > 1e-9 {
				t.Errorf("UmPerPx = %g, want %g", c.UmPerPx, tc.umPerPx)
			}
			if !strings.Contains(c.Note, tc.noteHas) {
				t.Errorf("Note %q does not mention %q", c.Note, tc.noteHas)
			}
		})
	}
}

func TestCalibrationJSON(t *testing.T) {
	b, err := json.Marshal(Calibrate(FOV{}, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "um_per_px") || !strings.Contains(s, `"source":"uncalibrated"`) {
		t.Errorf("uncalibrated JSON = %s", s)
	}
	b, _ = json.Marshal(Calibration{UmPerPx: 6.5, Source: CalibrationUser})
	if s := string(b); s != `{"um_per_px":6.5,"source":"user"}` {
		t.Errorf("user JSON = %s", s)
	}
}
