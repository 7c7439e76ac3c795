"""Citizens' ratings of each case (好差评), and the rectification of every poor one."""
