package dataset

import (
	"path/filepath"
	"sort"
)

func init() { register("rfmid", loadRFMiD) }

// rfmidDiseases are RFMiD 1.0's 45 disease columns after ID and Disease_Risk.
var rfmidDiseases = []string{
	"DR", "ARMD", "MH", "DN", "MYA", "BRVO", "TSLN", "ERM", "LS", "MS", "CSR", "ODC", "CRVO", "TV",
	"AH", "ODP", "ODE", "ST", "AION", "PT", "RT", "RS", "CRS", "EDN", "RPEC", "MHL", "RP", "CWS",
	"CB", "ODPM", "PRH", "MNF", "HR", "CRAO", "TD", "CME", "PTCR", "CF", "VH", "MCA", "VS", "BRAO",
	"PLQ", "HPED", "CL",
}

// RFMiD (Pachade et al. 2021): RFMiD_Training_Labels.csv with images in
// Training/<ID>.png, RFMiD_Validation_Labels.csv with Validation/, and
// RFMiD_Testing_Labels.csv with Test/ (the last two when present), all in
// root. Columns: ID, Disease_Risk, then 45 binary disease columns. The
// columns are exhaustive, so a 0 is a real "no": DR, ARMD→AMD, MYA→Myopia
// and HR→Hypertension are set true/false; Other is any other positive
// column; Normal is Disease_Risk = 0. Positive codes go to Findings.
func loadRFMiD(root string) ([]Record, []Problem, error) {
	files := []labelFile{
		{csv: "RFMiD_Training_Labels.csv", images: "Training", split: SplitTrain, ext: ".png"},
		{csv: "RFMiD_Validation_Labels.csv", images: "Validation", split: SplitVal, ext: ".png", optionalFile: true},
		{csv: "RFMiD_Testing_Labels.csv", images: "Test", split: SplitTest, ext: ".png", optionalFile: true},
	}
	cols := columns{required: append([]string{"ID", "Disease_Risk"}, rfmidDiseases...)}
	mapped := map[string]bool{"DR": true, "ARMD": true, "MYA": true, "HR": true}
	return loadFiles(root, files, cols, func(r row, lf labelFile) *Record {
		id := r.get("ID")
		if id == "" {
			r.problem("empty ID; row skipped")
			return nil
		}
		rec := &Record{ID: lf.split + "/" + id, Dataset: "rfmid", Image: filepath.Join(root, lf.images, id+lf.ext), Split: lf.split, Source: r.source()}
		l := &rec.Labels
		if risk := r.flag("Disease_Risk"); risk != nil {
			l.Normal = ptr(!*risk)
		}
		l.DR, l.AMD, l.Myopia, l.Hypertension = r.flag("DR"), r.flag("ARMD"), r.flag("MYA"), r.flag("HR")
		other, complete := false, true
		for _, c := range rfmidDiseases {
			f := r.flag(c)
			if f == nil {
				complete = false
				continue
			}
			if *f {
				l.Findings = append(l.Findings, c)
				if !mapped[c] {
					other = true
				}
			}
		}
		if other || complete {
			l.Other = ptr(other)
		}
		sort.Strings(l.Findings)
		return rec
	})
}
