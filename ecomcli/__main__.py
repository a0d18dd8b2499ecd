"""`python -m ecomcli`: the `ecom` command."""

from ecomcli.cli import main

if __name__ == "__main__":
    main()
