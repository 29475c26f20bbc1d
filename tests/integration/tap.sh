# tap.sh — TAP helpers for bash integration tests: source it, call ok/is/like, then done_testing.
# "$ALLUSE" is the binary under test (make test sets it).
ALLUSE=${ALLUSE:-build/alluse}
_tap_n=0
_tap_failed=0
ok() { # ok CONDITION-STATUS NAME
  _tap_n=$((_tap_n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"; else echo "not ok $_tap_n - $2"; _tap_failed=$((_tap_failed + 1)); fi
}
is() { # is GOT WANT NAME
  _tap_n=$((_tap_n + 1))
  if [ "$1" = "$2" ]; then echo "ok $_tap_n - $3"; else
    echo "not ok $_tap_n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; _tap_failed=$((_tap_failed + 1)); fi
}
like() { # like TEXT EXTENDED-REGEX NAME
  _tap_n=$((_tap_n + 1))
  if printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok $_tap_n - $3"; else
    echo "not ok $_tap_n - $3"; printf '%s\n' "$1" | head -5 | sed 's/^/#   /'; echo "#   does not match: $2"; _tap_failed=$((_tap_failed + 1)); fi
}
promtool_ok() { # promtool_ok FILE NAME: `promtool check metrics` accepts FILE; a comment when promtool is missing
  if command -v promtool >/dev/null 2>&1; then
    promtool check metrics < "$1" > /dev/null 2>&1; ok $? "$2"
  else
    echo "# SKIP promtool is not installed (Debian package prometheus)"
  fi
}
done_testing() { echo "1..$_tap_n"; [ $_tap_failed -eq 0 ]; exit $?; }
