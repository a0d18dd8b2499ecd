"""`python -m ecomcli`: the `ecom` command."""

from ecomcli.launch import main

if __name__ == "__main__":
    main()
