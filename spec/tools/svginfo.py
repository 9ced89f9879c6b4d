# Parses an SVG file with Python's XML parser (a malformed file fails) and
# prints, as a Lua chunk, its root's tag and size and how many of each
# element it holds:  svginfo.py FILE.svg
import collections, sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
tags = collections.Counter(e.tag.split("}")[-1] for e in root.iter())
print("return {tag = %r, width = %r, height = %r, counts = {%s}}" % (
    root.tag.split("}")[-1], root.get("width"), root.get("height"),
    ", ".join("%s = %d" % kv for kv in tags.items())))
