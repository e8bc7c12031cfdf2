// Package synth draws synthetic colour fundus (retina) photographs whose
// anatomy is known exactly, so that measurement code (vessel width,
// tortuosity, fractal dimension and density, optic disc and cup, lesions) can
// be tested against exact answers instead of hand-labelled images.
//
// [Generate] turns a [Spec] into a [Fundus]: an RGB image plus the ground
// truth it was drawn from — binary masks for the field of view, vessels
// (split into arteries and veins), disc, cup and each lesion kind, and the
// geometry behind them (densely sampled vessel centrelines with their width,
// arc length, chord and distance tortuosity; disc circle, cup ellipse, fovea,
// lesion boxes and areas). The same Spec always yields identical pixels.
//
// # Coordinates
//
// All geometry is in continuous pixel coordinates with x to the right and y
// down. Pixel (x, y) covers the unit square [x, x+1) × [y, y+1), so its
// centre is (x+0.5, y+0.5) and the image centre is (Size/2, Size/2). Every
// mask is decided at pixel centres: a vessel pixel is one whose centre lies
// within Width/2 of the vessel's centreline polyline (exact point-to-segment
// distance), a disc pixel one whose centre lies within the disc circle, and
// so on. Code measuring positions from these masks must use the same +0.5
// convention or it will be biased by half a pixel.
//
// # Appearance
//
// The picture is plausible rather than photorealistic: an orange-red fundus
// with vignetting, a low-frequency seeded texture and a darker macula; a
// bright yellowish disc with a brighter cup; vessels darker than the
// background (arteries lighter and narrower than veins) with a raised-cosine
// cross-section whose half-depth width equals the vessel's Width; dark red
// microaneurysms and haemorrhages, bright yellow hard exudates and pale fuzzy
// soft exudates; black outside the circular field of view. Optional blur,
// additive noise and a brightness multiplier degrade it for quality tests.
//
// # Dependencies and use
//
// The package imports only the standard library. It exists for tests and
// demos: it must never be imported by non-test production code paths, except
// the CLI's demo/test commands.
package synth
