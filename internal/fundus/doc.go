// Package fundus loads colour fundus (retina) photographs and puts them in a
// common geometry for analysis.
//
// It holds:
//   - Load and Decode: bounded, panic-safe decoding of JPEG, PNG, GIF, TIFF,
//     BMP, PPM and PGM into an *image.NRGBA, with sentinel errors (ErrEmpty,
//     ErrTooLarge, ErrCorrupt, ErrUnsupported) and a SHA-256 of the input
//     for caching. Image dimensions are checked from the header before the
//     full decode, so decompression bombs are refused cheaply.
//   - DetectFOV: the circular field of view (the bright disc on a black
//     background), including cameras that crop the disc at top and bottom.
//   - Normalize, Transform and Normalized.ResampleToOriginal: the square
//     around the field of view, resampled to a fixed size for models, and the
//     mapping of results back to original pixels.
//   - Calibrate: micrometres per pixel from the user, from the camera's
//     field-of-view angle, or marked as uncalibrated.
//
// Coordinates are continuous pixel coordinates: pixel (i, j) covers
// [i, i+1) x [j, j+1), so its centre is (i+0.5, j+0.5).
//
// Dependency rule: this package imports only the standard library,
// golang.org/x/image and its own subpackage pnm (the PPM/PGM decoder), and
// pnm imports only the standard library. Nothing from ONNX and no other
// internal package may be imported here, so that decoding and geometry stay
// usable (and testable) without the inference runtime.
package fundus
