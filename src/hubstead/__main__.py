from hubstead.cli import main

main()
