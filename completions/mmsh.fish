function __mmsh_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mmsh_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __mmsh_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __mmsh_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __mmsh_parse_tokens -S
    set -l unparsed_tokens (__mmsh_tokens -pc)
    switch $unparsed_tokens[1]
    case 'mmsh'
        __mmsh_parse_subcommand 0 'c=' 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'run'
            __mmsh_parse_subcommand 1 'keep-going' 'echo' 'dry-run' 'version' 'h/help'
        case 'sim'
            __mmsh_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'serve'
                __mmsh_parse_subcommand 0 'port=' 'pair=+' 'key=' 'secret=' 'faults=' 'set=+' 'limit=' 'version' 'h/help'
            case 'record'
                __mmsh_parse_subcommand 0 'pair=' 'seed=' 'duration=' 'start=' 'out=' 'force' 'set=+' 'version' 'h/help'
            end
        case 'daemon'
            __mmsh_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'serve'
                __mmsh_parse_subcommand 0 'idle-exit=' 'passphrase-file=' 'version' 'h/help'
            case 'status'
                __mmsh_parse_subcommand 0 'json' 'version' 'h/help'
            case 'stop'
                __mmsh_parse_subcommand 0 'version' 'h/help'
            case 'token'
                __mmsh_parse_subcommand 0 'version' 'h/help'
            end
        case 'help'
            __mmsh_parse_subcommand -r 1 'version'
        end
    end
end

function __mmsh_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __mmsh_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __mmsh_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __mmsh_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__mmsh_tokens -p)
    if test -z "$(__mmsh_tokens -t)"
        set -l index (count (__mmsh_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'mmsh' -f
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh" c' -s 'c' -d 'Run commands (separated by \';\') and exit.' -rfka '(__mmsh_custom_completion ---completion -- -c (count (__mmsh_tokens -pc)) (__mmsh_tokens -tC))'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh" -eq 1' -fa 'run' -d 'Run a .mmsh script.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh" -eq 1' -fa 'sim' -d 'The simulated MEXC.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh" -eq 1' -fa 'daemon' -d 'The engine: the process that runs the instances of a data directory.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh run" -eq 1' -fa '(for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.\'mmsh\';printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh run" keep-going' -l 'keep-going' -d 'Carry on after a failing line; exit 1 at the end if any failed.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh run" echo' -l 'echo' -d 'Print each command before running it.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh run" dry-run' -l 'dry-run' -d 'Parse and validate every line against a copy of the data; change nothing.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh run" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh run" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh sim" -eq 1' -fa 'serve' -d 'Serve MEXC\'s spot REST and WebSocket APIs on 127.0.0.1 over simulated markets.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh sim" -eq 1' -fa 'record' -d 'Write a recording of the simulated market, as fast as it computes.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" port' -l 'port' -d 'The port on 127.0.0.1; 0 picks a free one.' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve"' -l 'pair' -d 'A symbol to trade (repeatable).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" key' -l 'key' -d 'The API key to accept (default: a random one, printed).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" secret' -l 'secret' -d 'The API secret to accept (default: a random one, printed).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" faults' -l 'faults' -d 'Faults to inject, e.g. latency=0.2@150ms,5xx=0.05,429=0.02,drop=0.02,lost=0.05,seed=7.' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve"' -l 'set' -d 'A sim.* setting for every market, e.g. --set sim.takers=120 (repeatable).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" limit' -l 'limit' -d 'Weight allowed per 10 s in each of the IP and UID pools.' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" pair' -l 'pair' -d 'The symbol.' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" seed' -l 'seed' -d 'The market\'s random seed (the same seed, the same recording).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" duration' -l 'duration' -d 'How much market to write: 30m, 6h, 1d.' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" start' -l 'start' -d 'The recording\'s start, 2026-12-01T00:00Z or local time (default: now, to the second).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" out' -l 'out' -d 'The file to write (.mmrec).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" force' -l 'force' -d 'Replace --out if it exists.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record"' -l 'set' -d 'A sim.* setting of the market, e.g. --set sim.takers=120 (repeatable).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh sim record" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh daemon" -eq 1' -fa 'serve' -d 'Run the engine in the foreground (the default).'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh daemon" -eq 1' -fa 'status' -d 'Whether an engine runs for the data directory, and what it does.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh daemon" -eq 1' -fa 'stop' -d 'Stop every instance (orders cancelled and confirmed), then the engine.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_positional "mmsh daemon" -eq 1' -fa 'token' -d 'Make a new bearer token for the API\'s TCP listener (option api.listen); the old one stops working.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon serve" idle-exit' -l 'idle-exit' -d 'Exit after this many seconds with no running instance and no client attached (0: never).' -rfka ''
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon serve" passphrase-file' -l 'passphrase-file' -d 'Unlock the vault at start with the passphrase in FILE (readable by its owner only), for unattended starts.' -rF
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon serve" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon serve" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon status" json' -l 'json' -d 'Print the engine\'s answer as JSON.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon status" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon stop" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon stop" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon token" version' -l 'version' -d 'Show the version.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh daemon token" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'mmsh' -n '__mmsh_should_offer_completions_for_flags_or_options "mmsh help" version' -l 'version' -d 'Show the version.'
