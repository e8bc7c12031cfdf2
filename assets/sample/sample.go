// Package sample embeds the demo fundus photograph that `retinalgpt
// analyze` uses when no file is given. See ATTRIBUTION.md (CC BY 4.0).
package sample

import _ "embed"

//go:embed idrid_055.jpg
var photo []byte

// Name is the sample's file name, used in reports.
const Name = "idrid_055.jpg"

// Attribution is the one-line credit printed with results on the sample.
const Attribution = "Sample: IDRiD_055 (Porwal et al., IDRiD, 2018), CC BY 4.0, resized to 1072x712."

// Photo returns the JPEG bytes; callers must not modify them.
func Photo() []byte { return photo }
