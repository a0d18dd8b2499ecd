"""Product images and search by photo, offline and with Pillow and numpy alone.

`reading` opens and normalises a file, `colour`, `texture` and `layout` are the
descriptors, `descriptors` packs them for the store, `search` ranks stored images,
`catalogue` is what the commands call, `evaluate` measures recall on edited copies and
`drawing` makes demo pictures.
"""
