// Package dataset reads public retinal datasets in their published layouts
// and label files into one Record type: image path, dataset, split, labels
// in a common vocabulary (ICDR DR grade, DME, glaucoma, cataract, AMD, …),
// the source label text as published, masks, boxes and landmark centres.
//
// In: a dataset name (see Names) and the folder that holds it. Out:
// []Record plus []Problem — unknown columns and malformed rows, each with
// file and line, never silently dropped. A missing required column or an
// unreadable label file is an error (ErrMissingColumn, wrapped with the
// file). Absent labels are nil pointers, never 0.
//
// The package reads label files and lists folders only; it decodes no
// images and must not import the analysis, model or ONNX Runtime packages.
// The label columns and grade-scale mappings of every adapter are in
// docs/datasets.md.
package dataset
