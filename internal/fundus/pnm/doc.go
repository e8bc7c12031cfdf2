// Package pnm decodes the Netpbm greymap and pixmap formats: PGM (P2 plain,
// P5 raw) and PPM (P3 plain, P6 raw), 8 or 16 bits per sample, with comments.
//
// Importing it for its side effect registers the formats with the image
// package, as image/png does, so that image.Decode and image.DecodeConfig
// recognise them by their magic number:
//
//	import _ "github.com/retinalgpt/retinalgpt/internal/fundus/pnm"
//
// The decoder is written for untrusted input. It never allocates a buffer
// from the header's claims alone: the raster is read first, growing only as
// real data arrives, and the image is allocated once the data is known to be
// complete. Hostile headers therefore cost at most about twice the size of
// the input. PBM (P1/P4) and PAM (P7) are not supported.
package pnm
