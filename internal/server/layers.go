package server

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"

	"github.com/retinalgpt/retinalgpt/internal/overlay"
)

// The overlay's layers are stored beside the photo and the Report
// (ID.layers.zip), so that overlay.png and report.html are served after
// a restart without running the models. The archive holds scene.json
// (the geometry: field of view, landmarks, zones, lesion boxes, colours
// and labels, and which PNG holds each mask) and one 8-bit grey PNG per
// mask, stored as is (PNG is already deflated). Masks are kept exactly,
// so the overlay drawn from them is the one drawn before the restart.

const (
	layersVersion = 1
	layersSuffix  = ".layers.zip"
	sceneMember   = "scene.json"
)

// errBadLayers marks a layers file that cannot be used; the caller falls
// back to analysing the stored photo again.
var errBadLayers = errors.New("stored overlay layers unusable")

// layerFile is scene.json.
type layerFile struct {
	Version     int             `json:"version"`
	Width       int             `json:"width"` // the photo's size, checked on restore
	Height      int             `json:"height"`
	Vessels     *maskRef        `json:"vessels,omitempty"`
	Arteries    *maskRef        `json:"arteries,omitempty"`
	Veins       *maskRef        `json:"veins,omitempty"`
	DiscMask    *maskRef        `json:"disc_mask,omitempty"`
	CupMask     *maskRef        `json:"cup_mask,omitempty"`
	FOV         *overlay.Circle `json:"fov,omitempty"`
	Disc        *overlay.Point  `json:"disc,omitempty"`
	Fovea       *overlay.Point  `json:"fovea,omitempty"`
	ZoneB       *overlay.Ring   `json:"zone_b,omitempty"`
	ZoneC       *overlay.Ring   `json:"zone_c,omitempty"`
	Lesions     []lesionRef     `json:"lesions,omitempty"`
	LesionTitle string          `json:"lesion_title,omitempty"`
}

// maskRef names a mask's PNG and its origin in photo pixels (a disc mask
// covers only part of the photo).
type maskRef struct {
	File string `json:"file"`
	X    int    `json:"x"`
	Y    int    `json:"y"`
}

type lesionRef struct {
	Mask  *maskRef      `json:"mask,omitempty"`
	Boxes []overlay.Box `json:"boxes,omitempty"`
	Color color.NRGBA   `json:"color"`
	Label string        `json:"label"`
}

// encodeLayers writes s (drawn on a photo of bounds b) as a layers
// archive.
func encodeLayers(s overlay.Scene, b image.Rectangle) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	lf := layerFile{
		Version: layersVersion, Width: b.Dx(), Height: b.Dy(),
		FOV: s.FOV, Disc: s.Disc, Fovea: s.Fovea, ZoneB: s.ZoneB, ZoneC: s.ZoneC, LesionTitle: s.LesionTitle,
	}
	var err error
	mask := func(name string, g *image.Gray) *maskRef {
		// An empty mask draws nothing, and PNG cannot hold it: left out.
		if err != nil || g == nil || g.Rect.Empty() {
			return nil
		}
		var w io.Writer
		if w, err = zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store}); err != nil {
			return nil
		}
		if err = png.Encode(w, g); err != nil {
			return nil
		}
		return &maskRef{File: name, X: g.Rect.Min.X, Y: g.Rect.Min.Y}
	}
	lf.Vessels = mask("vessels.png", s.Vessels)
	lf.Arteries = mask("arteries.png", s.Arteries)
	lf.Veins = mask("veins.png", s.Veins)
	lf.DiscMask = mask("disc.png", s.DiscMask)
	lf.CupMask = mask("cup.png", s.CupMask)
	for i, l := range s.Lesions {
		lf.Lesions = append(lf.Lesions, lesionRef{
			Mask: mask(fmt.Sprintf("lesion-%d.png", i), l.Mask), Boxes: l.Boxes, Color: l.Color, Label: l.Label,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	w, err := zw.Create(sceneMember)
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	if err := json.NewEncoder(w).Encode(lf); err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeLayers reads a layers archive for a photo of bounds b. Masks are
// checked against the photo's size before they are decoded.
func decodeLayers(data []byte, b image.Rectangle) (overlay.Scene, error) {
	var s overlay.Scene
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return s, fmt.Errorf("%w: %w", errBadLayers, err)
	}
	open := func(name string) (io.ReadCloser, error) {
		f, err := zr.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errBadLayers, name, err)
		}
		return f, nil
	}
	f, err := open(sceneMember)
	if err != nil {
		return s, err
	}
	var lf layerFile
	err = json.NewDecoder(io.LimitReader(f, 16<<20)).Decode(&lf)
	f.Close()
	if err != nil {
		return s, fmt.Errorf("%w: %s: %w", errBadLayers, sceneMember, err)
	}
	if lf.Version != layersVersion || lf.Width != b.Dx() || lf.Height != b.Dy() {
		return s, fmt.Errorf("%w: version %d for a %dx%d photo, want version %d for %dx%d",
			errBadLayers, lf.Version, lf.Width, lf.Height, layersVersion, b.Dx(), b.Dy())
	}
	mask := func(ref *maskRef) *image.Gray {
		if err != nil || ref == nil {
			return nil
		}
		var g *image.Gray
		g, err = readMask(zr, ref, b)
		return g
	}
	s.Vessels, s.Arteries, s.Veins = mask(lf.Vessels), mask(lf.Arteries), mask(lf.Veins)
	s.DiscMask, s.CupMask = mask(lf.DiscMask), mask(lf.CupMask)
	s.FOV, s.Disc, s.Fovea, s.ZoneB, s.ZoneC, s.LesionTitle = lf.FOV, lf.Disc, lf.Fovea, lf.ZoneB, lf.ZoneC, lf.LesionTitle
	for _, l := range lf.Lesions {
		s.Lesions = append(s.Lesions, overlay.LesionLayer{Mask: mask(l.Mask), Boxes: l.Boxes, Color: l.Color, Label: l.Label})
	}
	if err != nil {
		return overlay.Scene{}, err
	}
	return s, nil
}

// readMask decodes one mask PNG, placed at its origin, refusing one that
// is not 8-bit grey or is larger than the photo (a bound on the memory it
// takes).
func readMask(zr *zip.Reader, ref *maskRef, b image.Rectangle) (*image.Gray, error) {
	bad := func(err error) error { return fmt.Errorf("%w: %s: %w", errBadLayers, ref.File, err) }
	raw, err := zr.Open(ref.File)
	if err != nil {
		return nil, bad(err)
	}
	defer raw.Close()
	// Read it whole (bounded) so that the header can be checked before
	// the pixels are decoded.
	data, err := io.ReadAll(io.LimitReader(raw, int64(b.Dx())*int64(b.Dy())+1<<20))
	if err != nil {
		return nil, bad(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, bad(err)
	}
	r := image.Rect(0, 0, cfg.Width, cfg.Height).Add(image.Pt(ref.X, ref.Y))
	if cfg.ColorModel != color.GrayModel || cfg.Width > b.Dx() || cfg.Height > b.Dy() {
		return nil, bad(fmt.Errorf("a %dx%d mask at (%d,%d) for a %dx%d photo", cfg.Width, cfg.Height, ref.X, ref.Y, b.Dx(), b.Dy()))
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, bad(err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, bad(fmt.Errorf("decoded as %T, not grey", img))
	}
	g.Rect = r // Pix is row-major from Rect.Min: moving the origin keeps it valid
	return g, nil
}
