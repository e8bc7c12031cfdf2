package pnm

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that no input makes the decoder panic, and that whatever
// decodes agrees with DecodeConfig.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		"P2\n# c\n2 2\n255\n0 255\n128 7\n",
		"P3 1 1 4095 4095 0 2048",
		"P5 3 1 255\n\x0a\x20\xff",
		"P5\n2 1\n65535\n\x01\x02\xff\xfe",
		"P6 2 1 255# c\n\x01\x02\x03\xfa\xfb\xfc",
		"P6 1 1 65535\n\x12\x34\x00\x00\xff\xff",
		"P6 2147483647 2147483647 65535\n\x00",
		"P2 3 1 15 0 15 20",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cfgErr := DecodeConfig(bytes.NewReader(data))
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if cfgErr != nil {
			t.Fatalf("Decode succeeded but DecodeConfig failed: %v", cfgErr)
		}
		b := img.Bounds()
		if b.Min.X != 0 || b.Min.Y != 0 || b.Dx() != cfg.Width || b.Dy() != cfg.Height {
			t.Fatalf("bounds %v disagree with config %dx%d", b, cfg.Width, cfg.Height)
		}
		if img.ColorModel() != cfg.ColorModel {
			t.Fatalf("colour model disagrees with config")
		}
	})
}
