from taipod.cli.main import main

raise SystemExit(main())
