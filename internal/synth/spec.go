package synth

import (
	"errors"
	"fmt"
	"math"
)

// Size limits. MinSize keeps the default anatomy at least a few pixels
// across; MaxSize bounds memory (the float working planes alone take
// 12 bytes per pixel).
const (
	DefaultSize = 512
	MinSize     = 32
	MaxSize     = 8192
)

// ErrInvalidSpec is wrapped by every error Generate returns for a bad Spec,
// so callers can test for it with errors.Is.
var ErrInvalidSpec = errors.New("synth: invalid spec")

// Anatomical defaults, as fractions of the reference radius 0.47*Size so
// that the default disc is exactly 0.3*Size left of centre with radius
// 0.075*Size.
const (
	defaultFOVFrac    = 0.47
	discOffsetOfFOV   = 0.3 / defaultFOVFrac
	discRadiusOfFOV   = 0.075 / defaultFOVFrac
	defaultCupRatio   = 0.4
	cupAspect         = 0.9  // cup RX / RY: cups are usually vertically oval
	cupTemporalShift  = 0.05 // in disc radii
	foveaDiscDiameter = 2.5  // fovea distance from the disc, in disc diameters
	foveaDrop         = 0.3  // fovea below the disc centre, in disc radii
)

// resolved is a validated Spec with every default filled in.
type resolved struct {
	size       int
	seed       int64
	fov        Circle
	disc       Circle
	cup        Ellipse
	fovea      Point
	temporal   float64 // +1 when temporal (disc→fovea) is +x, else -1
	vessels    []VesselSpec
	defaultVes bool // vessels must be generated from the default tree
	lesions    []LesionSpec
	noise      float64
	blur       float64
	brightness float64
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func finitePoint(p Point) bool { return finite(p.X) && finite(p.Y) }

// resolve validates s and fills in its defaults.
func resolve(s Spec) (*resolved, error) {
	r := &resolved{seed: s.Seed}

	switch {
	case s.Size == 0:
		r.size = DefaultSize
	case s.Size < MinSize || s.Size > MaxSize:
		return nil, invalid("size %d outside [%d, %d]", s.Size, MinSize, MaxSize)
	default:
		r.size = s.Size
	}
	n := float64(r.size)
	inImage := func(p Point) bool {
		return finitePoint(p) && p.X >= 0 && p.Y >= 0 && p.X <= n && p.Y <= n
	}

	for _, f := range []struct {
		name string
		v    float64
	}{
		{"FOVRadius", s.FOVRadius}, {"CupRatio", s.CupRatio}, {"Noise", s.Noise},
		{"Blur", s.Blur}, {"Brightness", s.Brightness},
	} {
		if !finite(f.v) || f.v < 0 {
			return nil, invalid("%s %v must be finite and >= 0", f.name, f.v)
		}
	}

	r.fov = Circle{X: n / 2, Y: n / 2, R: s.FOVRadius}
	if r.fov.R == 0 {
		r.fov.R = defaultFOVFrac * n
	}
	if r.fov.R > n {
		return nil, invalid("FOVRadius %v exceeds Size %d", r.fov.R, r.size)
	}
	inFOV := func(p Point) bool {
		return finitePoint(p) && math.Hypot(p.X-r.fov.X, p.Y-r.fov.Y) <= r.fov.R
	}

	if s.Disc == (Circle{}) {
		// Tie the default disc to the FOV so that a small FOV still contains
		// it, but not to a FOV larger than the default, which would push it
		// out of the image.
		ref := math.Min(r.fov.R, defaultFOVFrac*n)
		r.disc = Circle{X: r.fov.X - discOffsetOfFOV*ref, Y: r.fov.Y, R: discRadiusOfFOV * ref}
	} else {
		r.disc = s.Disc
		if !finite(r.disc.R) || r.disc.R <= 0 || r.disc.R > n/4 {
			return nil, invalid("disc radius %v outside (0, Size/4]", r.disc.R)
		}
		if c := (Point{r.disc.X, r.disc.Y}); !inImage(c) || !inFOV(c) {
			return nil, invalid("disc centre (%v, %v) outside the field of view", r.disc.X, r.disc.Y)
		}
	}

	cupRatio := s.CupRatio
	if cupRatio == 0 {
		cupRatio = defaultCupRatio
	}
	if cupRatio >= 1 {
		return nil, invalid("CupRatio %v must be < 1", cupRatio)
	}

	if s.Fovea == (Point{}) {
		r.temporal = 1
		if r.disc.X > r.fov.X {
			r.temporal = -1
		}
		d := foveaDiscDiameter * 2 * r.disc.R
		r.fovea = Point{r.disc.X + r.temporal*d, r.disc.Y + foveaDrop*r.disc.R}
	} else {
		if !inImage(s.Fovea) {
			return nil, invalid("fovea (%v, %v) outside the image", s.Fovea.X, s.Fovea.Y)
		}
		r.fovea = s.Fovea
		r.temporal = 1
		if r.fovea.X < r.disc.X {
			r.temporal = -1
		}
	}

	ry := cupRatio * r.disc.R
	r.cup = Ellipse{
		X:  r.disc.X + r.temporal*cupTemporalShift*r.disc.R,
		Y:  r.disc.Y,
		RX: cupAspect * ry,
		RY: ry,
	}

	if s.Blur > n/4 {
		return nil, invalid("Blur %v exceeds Size/4", s.Blur)
	}
	r.noise, r.blur, r.brightness = s.Noise, s.Blur, s.Brightness
	if r.brightness == 0 {
		r.brightness = 1
	}

	if s.Vessels == nil {
		r.defaultVes = true
	}
	for i, v := range s.Vessels {
		if !v.Kind.valid() {
			return nil, invalid("vessel %d: unknown kind %d", i, int(v.Kind))
		}
		if !finite(v.Width) || v.Width <= 0 || v.Width > n/4 {
			return nil, invalid("vessel %d: width %v outside (0, Size/4]", i, v.Width)
		}
		for j, p := range v.Points {
			if !inImage(p) {
				return nil, invalid("vessel %d: point %d (%v, %v) outside the image", i, j, p.X, p.Y)
			}
		}
		pts := dedupe(v.Points)
		if len(pts) < 2 {
			return nil, invalid("vessel %d: needs at least 2 distinct points, has %d", i, len(pts))
		}
		if dist(pts[0], pts[len(pts)-1]) < 1 {
			return nil, invalid("vessel %d: ends less than 1 px apart", i)
		}
	}
	r.vessels = s.Vessels

	for i, l := range s.Lesions {
		if !l.Kind.valid() {
			return nil, invalid("lesion %d: unknown kind %d", i, int(l.Kind))
		}
		if !finite(l.Radius) || l.Radius <= 0 || l.Radius > n/4 {
			return nil, invalid("lesion %d: radius %v outside (0, Size/4]", i, l.Radius)
		}
		if !inImage(l.Center) || !inFOV(l.Center) {
			return nil, invalid("lesion %d: centre (%v, %v) outside the field of view", i, l.Center.X, l.Center.Y)
		}
	}
	r.lesions = s.Lesions

	return r, nil
}
