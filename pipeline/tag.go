package pipeline

import "codeberg.org/atelier/atelier/catalog"

// Tag names a software version a recording documents: the catalog's tag.
type Tag = catalog.Tag
