package fundus

import (
	"fmt"
	"math"
)

// CalibrationSource says where a Calibration's scale came from.
type CalibrationSource string

// Calibration sources. CalibrationDiscDiameter is set by the optic disc
// stage once it measures the disc; Calibrate never returns it.
const (
	CalibrationUser         CalibrationSource = "user"
	CalibrationFOVAngle     CalibrationSource = "fov_angle"
	CalibrationUncalibrated CalibrationSource = "uncalibrated"
	CalibrationDiscDiameter CalibrationSource = "disc_diameter"
)

// UmPerDegree is the retinal distance subtended by one degree of visual
// angle in the Gullstrand/Bennett schematic emmetropic eye, about 0.288 mm.
const UmPerDegree = 288.0

// Calibration is the physical scale of an image.
type Calibration struct {
	UmPerPx float64           `json:"um_per_px,omitempty"`
	Source  CalibrationSource `json:"source"`
	Note    string            `json:"note,omitempty"`
}

// Calibrate chooses the scale: userUmPerPx > 0 wins ("user"); else
// fovDegrees > 0 (the camera's field-of-view angle) gives
// UmPerPx = fovDegrees*UmPerDegree/(2*Radius) ("fov_angle"), using the full
// circle's diameter even where the camera crops it, since the angle refers to
// the whole circle; else the result is "uncalibrated", with no UmPerPx.
func Calibrate(f FOV, userUmPerPx, fovDegrees float64) Calibration {
	if userUmPerPx > 0 && !math.IsInf(userUmPerPx, 0) {
		return Calibration{UmPerPx: userUmPerPx, Source: CalibrationUser}
	}
	if fovDegrees > 0 && fovDegrees < 360 && f.Radius > 0 && !math.IsInf(f.Radius, 0) {
		return Calibration{
			UmPerPx: fovDegrees * UmPerDegree / (2 * f.Radius),
			Source:  CalibrationFOVAngle,
			Note: fmt.Sprintf("approximate: %g° field of view x %g µm/degree (Gullstrand/Bennett emmetropic eye) over a %.0f px FOV diameter; the eye's axial length and refraction change the true scale",
				fovDegrees, UmPerDegree, 2*f.Radius),
		}
	}
	return Calibration{
		Source: CalibrationUncalibrated,
		Note:   "no pixel size or field-of-view angle given; micrometres will come from the optic disc diameter once it is measured",
	}
}
