#!/bin/sh
# fixtures.sh DEST - build the deterministic benchmark fixtures under DEST.
#
#   DEST/text_4k.txt      4,096 bytes of ASCII text
#   DEST/text_1m.txt      1,048,576 bytes of ASCII text
#   DEST/dir100/          100 entries: item_000.txt .. item_089.txt and sub_090 .. sub_099/
#   DEST/tree/            10,000 files: d00..d99/ each with f00..f99 (100 files);
#                         file 42 of every directory is f42_needle.txt (100 needles in all)
#
# The text comes from a fixed linear congruential generator in awk, so every run (and every
# machine) builds byte-identical files. Re-running on an existing DEST rebuilds it.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DEST" >&2
	exit 2
fi
dest=$1
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
rm -rf "$dest/text_4k.txt" "$dest/text_1m.txt" "$dest/dir100" "$dest/tree"

# text SEED BYTES: exactly BYTES bytes of lines made of lowercase words, no quotes or
# backslashes (JSON escaping then costs the same in every server).
text() {
	awk -v seed="$1" -v want="$2" 'BEGIN {
		split("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo " \
		      "lima mike november oscar papa quebec romeo sierra tango uniform " \
		      "victor whiskey xray yankee zulu context daemon server sandbox " \
		      "thread buffer socket pointer kernel", w, " ")
		nw = 0; for (k in w) nw++
		x = seed; out = 0
		while (out < want) {
			line = ""
			n = 6 + (x % 7)
			for (i = 0; i < n; i++) {
				x = (x * 69069 + 1) % 4294967296
				word = w[1 + int(x / 65536) % nw]
				line = (line == "" ? word : line " " word)
			}
			x = (x * 69069 + 1) % 4294967296
			line = line " " (x % 100000) "."
			if (out + length(line) + 1 > want) {
				line = substr(line, 1, want - out - 1)
			}
			print line
			out += length(line) + 1
		}
	}'
}

text 4 4096 >"$dest/text_4k.txt"
text 1048576 1048576 >"$dest/text_1m.txt"

mkdir "$dest/dir100"
i=0
while [ $i -lt 100 ]; do
	n=$(printf '%03d' $i)
	if [ $i -lt 90 ]; then
		text $((i + 100)) $((64 + i * 16)) >"$dest/dir100/item_$n.txt"
	else
		mkdir "$dest/dir100/sub_$n"
	fi
	i=$((i + 1))
done

# The tree: directories by shell, the 10,000 files by one awk process.
mkdir "$dest/tree"
d=0
while [ $d -lt 100 ]; do
	mkdir "$dest/tree/d$(printf '%02d' $d)"
	d=$((d + 1))
done
awk -v root="$dest/tree" 'BEGIN {
	x = 7
	for (d = 0; d < 100; d++) {
		for (f = 0; f < 100; f++) {
			name = sprintf("%s/d%02d/f%02d%s.txt", root, d, f, f == 42 ? "_needle" : "")
			x = (x * 69069 + 1) % 4294967296
			printf "file %d of directory %d, token %d\n", f, d, x % 1000000 > name
			close(name)
		}
	}
}'

# Sanity: sizes and counts the benchmark relies on.
[ "$(wc -c <"$dest/text_4k.txt")" -eq 4096 ]
[ "$(wc -c <"$dest/text_1m.txt")" -eq 1048576 ]
[ "$(find "$dest/dir100" -mindepth 1 -maxdepth 1 | wc -l)" -eq 100 ]
[ "$(find "$dest/tree" -type f | wc -l)" -eq 10000 ]
[ "$(find "$dest/tree" -name '*_needle.txt' | wc -l)" -eq 100 ]
echo "fixtures ready in $dest"
