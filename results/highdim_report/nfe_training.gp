set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'nfe_training.svg.tmp'
set title "NFE per training iteration" noenhanced
set xlabel 'training iteration (main phase)'
set ylabel 'evaluations of f per iteration, forward (batched over all pairs)'
set logscale y
set yrange [6.25:168]
set grid lc rgb '#dddddd'
set key below noenhanced
plot 'nfe_training.dat' index 0 with lines lw 2 title 'dopri8 h=0.25 (local-bilinear)', \
     'nfe_training.dat' index 1 with lines lw 2 title 'trk10 h=0.25 (local-bilinear)', \
     'nfe_training.dat' index 2 with lines lw 2 title 'dopri8 h=0.5 (local-bilinear)', \
     'nfe_training.dat' index 3 with lines lw 2 title 'trk10 h=0.5 (local-bilinear)', \
     'nfe_training.dat' index 4 with lines lw 2 title 'dopri8 h=1.0 (local-bilinear)', \
     'nfe_training.dat' index 5 with lines lw 2 title 'trk10 h=1.0 (local-bilinear)', \
     'nfe_training.dat' index 6 with lines lw 2 title 'dopri8 h=0.3 (bilinear)', \
     'nfe_training.dat' index 7 with lines lw 2 title 'trk10 h=0.3 (bilinear)', \
     'nfe_training.dat' index 8 with lines lw 2 title 'dopri8 h=0.05 (local-bilinear)', \
     'nfe_training.dat' index 9 with lines lw 2 title 'trk10 h=0.05 (local-bilinear)', \
     'nfe_training.dat' index 10 with lines lw 2 title 'dopri8 h=0.1 (local-bilinear)', \
     'nfe_training.dat' index 11 with lines lw 2 title 'trk10 h=0.1 (local-bilinear)', \
     'nfe_training.dat' index 12 with lines lw 2 title 'dopri8 h=0.2 (local-bilinear)', \
     'nfe_training.dat' index 13 with lines lw 2 title 'trk10 h=0.2 (local-bilinear)'
