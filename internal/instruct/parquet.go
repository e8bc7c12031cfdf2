package instruct

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
)

// Parquet column types of features.parquet; a column not named here is a
// double. Every column is optional: an empty CSV cell is a null.
var (
	parquetStrings = map[string]bool{"dataset": true, "image": true, "split": true, "set": true, "id": true, "sha256": true,
		"phash": true, "findings": true, "quality_grade": true, "laterality": true, "field": true, "calibration_source": true}
	parquetInts  = map[string]bool{"dr_grade": true, "dme_risk": true, "myopic_maculopathy": true, "quality": true, "lesion_count": true}
	parquetBools = map[string]bool{"dr": true, "referable_dr": true, "dme": true, "glaucoma": true, "cataract": true, "normal": true,
		"amd": true, "hypertension": true, "myopia": true, "other": true, "gradable": true, "is_fundus": true, "disc_found": true}
)

// orderedGroup is a parquet group that keeps its columns in the given
// order (parquet.Group sorts them by name), so features.parquet has
// features.csv's columns in features.csv's order.
type orderedGroup []parquet.Field

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return "features" }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Fields() []parquet.Field     { return g }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeOf(map[string]any{}) }

type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string { return f.name }
func (f namedField) Value(base reflect.Value) reflect.Value {
	return base.MapIndex(reflect.ValueOf(f.name))
}

// FeatureSchema is features.parquet's schema: FeatureHeader's columns in
// order, each optional, typed string, int32, boolean or double.
func FeatureSchema() *parquet.Schema {
	var g orderedGroup
	for _, c := range FeatureHeader() {
		var n parquet.Node
		switch {
		case parquetStrings[c]:
			n = parquet.String()
		case parquetInts[c]:
			n = parquet.Leaf(parquet.Int32Type)
		case parquetBools[c]:
			n = parquet.Leaf(parquet.BooleanType)
		default:
			n = parquet.Leaf(parquet.DoubleType)
		}
		g = append(g, namedField{parquet.Optional(n), c})
	}
	return parquet.NewSchema("features", g)
}

// encodeParquet writes the features rows (header first, as for the CSV)
// as Parquet.
func encodeParquet(rows [][]string) ([]byte, error) {
	hdr := rows[0]
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, FeatureSchema(), parquet.Compression(&parquet.Zstd))
	prow := make(parquet.Row, len(hdr))
	for _, r := range rows[1:] {
		for i, cell := range r {
			c := hdr[i]
			if cell == "" {
				prow[i] = parquet.NullValue().Level(0, 0, i)
				continue
			}
			var v parquet.Value
			switch {
			case parquetStrings[c]:
				v = parquet.ByteArrayValue([]byte(cell))
			case parquetInts[c]:
				x, err := strconv.ParseInt(cell, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("features.parquet: %s %q: %w", c, cell, err)
				}
				v = parquet.Int32Value(int32(x))
			case parquetBools[c]:
				x, err := strconv.ParseBool(cell)
				if err != nil {
					return nil, fmt.Errorf("features.parquet: %s %q: %w", c, cell, err)
				}
				v = parquet.BooleanValue(x)
			default:
				x, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					return nil, fmt.Errorf("features.parquet: %s %q: %w", c, cell, err)
				}
				v = parquet.DoubleValue(x)
			}
			prow[i] = v.Level(0, 1, i)
		}
		if _, err := w.WriteRows([]parquet.Row{prow}); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
