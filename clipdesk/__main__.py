"""`python -m clipdesk` runs the command line."""

from clipdesk.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
