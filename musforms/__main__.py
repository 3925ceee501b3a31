from musforms.cli import main

main()
