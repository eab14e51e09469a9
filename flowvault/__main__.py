if __name__ == "__main__":
    # The import is inside: a worker process (flowvault.backup.workers) re-imports this module without running it.
    from flowvault.cli import main

    main()
