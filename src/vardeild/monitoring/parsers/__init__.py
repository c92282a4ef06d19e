"""Parser stages, one module per source: each turns raw records into `Event`s or raises
`ParseError` naming what is wrong with the one record."""
